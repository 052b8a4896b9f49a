import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../lib/log.js";
import { redactText } from "./redact.js";

/** A group of steps: one per Ory service, and the SQL checks. */
export type Suite = "hydra" | "kratos" | "keto" | "sql";
export const SUITES: readonly Suite[] = ["hydra", "kratos", "keto", "sql"];

export type StepStatus = "passed" | "failed" | "skipped";

/** The outcome of one timed step, as every report shows it. */
export interface StepResult {
  suite: Suite;
  name: string;
  status: StepStatus;
  durationMs: number;
  attempts: number;
  /** Finding of a passed step, or the reason a step was skipped. */
  detail?: string;
  /** Cause of a failure, with the response body where there was one. */
  error?: string;
}

/**
 * A failed check. `retry: false` marks a response that waiting cannot change
 * (a rejected request body, a subject that is allowed but must not be), so
 * the step fails at once instead of at its deadline.
 */
export class CheckFailure extends Error {
  readonly retry: boolean;

  constructor(
    message: string,
    options: { retry?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "CheckFailure";
    this.retry = options.retry ?? true;
  }
}

export interface StepContext {
  /** Aborted at the step's deadline and when the run is interrupted. */
  signal: AbortSignal;
}

/** Returns a short detail for the report, or nothing. Throws to fail. */
export type StepAction = (context: StepContext) => Promise<string | void>;

export interface StepDefinition {
  name: string;
  run: StepAction;
  /** Returns why the step cannot run (no SQL connection, no secret), or undefined. */
  skipReason?: () => string | undefined;
  /** Runs even after an earlier step of its chain failed (health, version). */
  independent?: boolean;
}

export interface RetryPolicy {
  /** Time in ms a step keeps retrying before it fails. */
  deadlineMs: number;
  /** Wait in ms before the first retry; it doubles up to maxDelayMs. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface StepRunOptions {
  policy: RetryPolicy;
  /** Aborted when the run is interrupted. */
  signal: AbortSignal;
  logger: Logger;
}

/**
 * Runs one step, retrying with exponential backoff until it passes, fails
 * with `retry: false`, reaches its deadline, or the run is interrupted.
 */
export async function runStep(
  suite: Suite,
  name: string,
  action: StepAction,
  options: StepRunOptions,
): Promise<StepResult> {
  const started = performance.now();
  const deadline = AbortSignal.timeout(options.policy.deadlineMs);
  const signal = AbortSignal.any([options.signal, deadline]);
  const elapsed = () => Math.round(performance.now() - started);
  let attempts = 0;
  let delay = options.policy.initialDelayMs;
  let lastError: Error | undefined;

  for (;;) {
    attempts++;
    try {
      const found = (await action({ signal })) ?? undefined;
      const detail = found === undefined ? undefined : redactText(found);
      return {
        suite,
        name,
        status: "passed",
        durationMs: elapsed(),
        attempts,
        ...(detail ? { detail } : {}),
      };
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      // An attempt cut off by the deadline has a less useful message than
      // the attempt before it, so keep the earlier one.
      if (!(deadline.aborted && lastError)) lastError = failure;
    }

    const fail = (error: string): StepResult => ({
      suite,
      name,
      status: "failed",
      durationMs: elapsed(),
      attempts,
      error,
    });
    // Messages end up in every report and log, and some (fetch's, a
    // driver's) quote a URL or DSN with its password.
    const message = redactText(lastError?.message ?? "unknown error");
    if (options.signal.aborted) {
      return fail(`interrupted after ${seconds(elapsed())}: ${message}`);
    }
    if (lastError instanceof CheckFailure && !lastError.retry) {
      return fail(message);
    }
    if (deadline.aborted || elapsed() + delay >= options.policy.deadlineMs) {
      return fail(
        `${message} (gave up after ${attempts} attempt${attempts === 1 ? "" : "s"} in ${seconds(elapsed())})`,
      );
    }
    options.logger.debug(
      `${suite}: ${name}: attempt ${attempts} failed: ${message}; retrying in ${delay} ms`,
    );
    try {
      await sleep(delay, undefined, { signal });
    } catch {
      // The deadline or an interrupt ended the wait, and the loop reports it.
    }
    delay = Math.min(delay * 2, options.policy.maxDelayMs);
  }
}

/**
 * Runs steps in order. After a failure, the steps that depend on it are
 * skipped with the failed step's name as the reason.
 */
export async function runChain(
  suite: Suite,
  steps: StepDefinition[],
  options: StepRunOptions,
): Promise<StepResult[]> {
  const results: StepResult[] = [];
  let failed: string | undefined;
  for (const step of steps) {
    const skip = (detail: string): StepResult => ({
      suite,
      name: step.name,
      status: "skipped",
      durationMs: 0,
      attempts: 0,
      detail,
    });
    let result: StepResult;
    if (options.signal.aborted) {
      result = skip("the run was interrupted");
    } else if (failed && !step.independent) {
      result = skip(`"${failed}" failed`);
    } else {
      const reason = step.skipReason?.();
      result = reason
        ? skip(reason)
        : await runStep(suite, step.name, step.run, options);
    }
    logResult(options.logger, result);
    if (result.status === "failed") failed ??= step.name;
    results.push(result);
  }
  return results;
}

/** Logs a finished step: passed at info, skipped at debug, failed at warn. */
export function logResult(logger: Logger, result: StepResult): void {
  const label = `${result.suite}: ${result.name}`;
  if (result.status === "passed") {
    logger.info(`${label} passed in ${seconds(result.durationMs)}`);
  } else if (result.status === "skipped") {
    logger.debug(`${label} skipped: ${result.detail ?? ""}`);
  } else {
    logger.warn(
      `${label} failed after ${seconds(result.durationMs)}: ${result.error ?? ""}`,
    );
  }
}

/** Formats milliseconds as seconds with two decimals, e.g. "1.25 s". */
export function seconds(milliseconds: number): string {
  return `${(milliseconds / 1000).toFixed(2)} s`;
}
