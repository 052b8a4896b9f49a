import type { Environment } from "../lib/environment.js";
import {
  EXIT_CANNOT_START,
  EXIT_OK,
  EXIT_PROBLEM,
  ToolError,
  type ExitCode,
} from "../lib/errors.js";
import type { Logger } from "../lib/log.js";
import type { PromoteDependencies } from "../promote/command.js";
import { runPromotion } from "../promote/command.js";
import {
  readCommitStatuses,
  type GitHubClient,
  type GitHubSettings,
} from "../promote/github.js";
import { formatDuration } from "../sync/duration.js";
import { parseRevision, shortSha } from "../sync/revision.js";
import { renderText as renderSyncText } from "../sync/report.js";
import { waitForSync, type FluxReader } from "../sync/wait.js";
import type { SmokeRunner } from "./smoke.js";

export type StepName = "sync" | "smoke" | "promote";

export interface StepResult {
  name: StepName;
  outcome: "passed" | "failed" | "skipped";
  exitCode: ExitCode;
  elapsedMs: number;
  detail: string;
}

export interface PostSyncResult {
  environment: string;
  revision: string;
  steps: StepResult[];
  /** The first failing step's exit code, else 0. */
  exitCode: ExitCode;
  runUrl: string | null;
}

export interface PostSyncRequest {
  environment: Environment;
  /** Revision to test, or undefined to read the root Kustomization's. */
  revision: string | undefined;
  force: boolean;
  timeoutMs: number;
  intervalMs: number;
  kubeconfig: string | undefined;
  repoOption: string | undefined;
  remote: string;
  base: string;
}

export interface PostSyncSeams {
  readers: FluxReader[];
  github: GitHubClient;
  settings: GitHubSettings;
  smoke: SmokeRunner;
  promoteDependencies: Pick<
    PromoteDependencies,
    "environmentVariables" | "git" | "github"
  >;
  logger: Logger;
  now?: () => number;
  sleep?: (milliseconds: number) => Promise<void>;
}

/**
 * Runs sync, then smoke with a commit status on the synced revision, then
 * promotion to the next environment when smoke passed. A step that cannot
 * run because an earlier one failed is reported as skipped.
 */
export async function postSync(
  request: PostSyncRequest,
  seams: PostSyncSeams,
): Promise<PostSyncResult> {
  const { environment } = request;
  const { logger } = seams;
  const now = seams.now ?? Date.now;
  const revision =
    request.revision ?? (await appliedRevision(seams.readers, logger));
  const variables = seams.promoteDependencies.environmentVariables;
  const result: PostSyncResult = {
    environment: environment.name,
    revision,
    steps: [],
    exitCode: EXIT_OK,
    runUrl: runUrl(variables),
  };
  const context = `smoke/${environment.name}`;

  const existing = (
    await readCommitStatuses(
      seams.github,
      seams.settings.repository,
      revision,
      seams.settings.apiUrl,
    )
  ).find((status) => status.context === context);
  if (existing && !request.force) {
    const note = `${shortSha(revision)} already has a ${context} status (${existing.state}); pass --force to test it again`;
    logger.info(note);
    skip(result, "sync", note);
    if (existing.state === "failure" || existing.state === "error") {
      // Not testing again must not read as a pass: the revision is known bad.
      const detail = `${shortSha(revision)} already failed smoke (${context} is ${existing.state}); run \`npm run post-sync -- ${environment.name} --revision ${revision} --force\` to test it again`;
      logger.error(detail);
      result.steps.push({
        name: "smoke",
        outcome: "failed",
        exitCode: EXIT_PROBLEM,
        elapsedMs: 0,
        detail,
      });
      skip(result, "promote", `${context} is ${existing.state}`);
      return finish(result);
    }
    skip(result, "smoke", note);
    // Promotion is idempotent, so a tested revision still gets its pull
    // request opened or brought up to date, e.g. after a failed attempt.
    if (existing.state === "success") {
      await runPromoteStep(result, request, seams, now);
    } else {
      skip(result, "promote", `${context} is ${existing.state}`);
    }
    return finish(result);
  }

  const synced = await runStep(result, "sync", now, async () => {
    const outcome = await waitForSync(
      {
        environment: environment.name,
        revision,
        timeoutMs: request.timeoutMs,
        intervalMs: request.intervalMs,
      },
      {
        readers: seams.readers,
        logger,
        ...(seams.now ? { now: seams.now } : {}),
        ...(seams.sleep ? { sleep: seams.sleep } : {}),
      },
    );
    const text = renderSyncText(outcome).trimEnd();
    if (outcome.outcome !== "synced") logger.error(text);
    return {
      exitCode: outcome.outcome === "synced" ? EXIT_OK : EXIT_PROBLEM,
      detail: text.split("\n")[0] ?? "",
    };
  });
  if (!synced) {
    skip(result, "smoke", "sync did not finish");
    skip(result, "promote", "sync did not finish");
    return finish(result);
  }

  const smoked = await runStep(result, "smoke", now, async () => {
    const exitCode = await seams.smoke([
      environment.name,
      "--commit-status",
      revision,
      "--format",
      "text",
      ...(request.kubeconfig ? ["--kubeconfig", request.kubeconfig] : []),
    ]);
    const known: ExitCode[] = [EXIT_OK, EXIT_PROBLEM, EXIT_CANNOT_START];
    return {
      exitCode: known.includes(exitCode as ExitCode)
        ? (exitCode as ExitCode)
        : EXIT_PROBLEM,
      detail:
        exitCode === 0
          ? `passed; ${context} posted on ${shortSha(revision)}`
          : `smoke exited ${exitCode}`,
    };
  });
  if (!smoked) {
    skip(result, "promote", "smoke did not pass");
    return finish(result);
  }
  await runPromoteStep(result, request, seams, now);
  return finish(result);
}

async function runPromoteStep(
  result: PostSyncResult,
  request: PostSyncRequest,
  seams: PostSyncSeams,
  now: () => number,
): Promise<void> {
  const target = request.environment.promotesTo;
  if (!target) {
    skip(
      result,
      "promote",
      `${request.environment.name} has no promotion target`,
    );
    return;
  }
  await runStep(result, "promote", now, async () => {
    const promotion = await runPromotion(
      {
        from: request.environment.name,
        to: target,
        dryRun: false,
        force: false,
        remote: request.remote,
        base: request.base,
      },
      request.repoOption,
      seams.promoteDependencies,
      seams.logger,
    );
    return { exitCode: promotion.exitCode, detail: promotion.message };
  });
}

/**
 * Runs one step, turning an expected failure (ToolError) into a failed step
 * with its exit code. Returns whether the step passed.
 */
async function runStep(
  result: PostSyncResult,
  name: StepName,
  now: () => number,
  body: () => Promise<{ exitCode: ExitCode; detail: string }>,
): Promise<boolean> {
  const started = now();
  let exitCode: ExitCode;
  let detail: string;
  try {
    ({ exitCode, detail } = await body());
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    exitCode = error.exitCode;
    detail = error.message;
  }
  result.steps.push({
    name,
    outcome: exitCode === EXIT_OK ? "passed" : "failed",
    exitCode,
    elapsedMs: now() - started,
    detail,
  });
  return exitCode === EXIT_OK;
}

function skip(result: PostSyncResult, name: StepName, detail: string): void {
  result.steps.push({
    name,
    outcome: "skipped",
    exitCode: EXIT_OK,
    elapsedMs: 0,
    detail,
  });
}

function finish(result: PostSyncResult): PostSyncResult {
  const failed = result.steps.find((step) => step.outcome === "failed");
  result.exitCode = failed?.exitCode ?? EXIT_OK;
  return result;
}

/**
 * Reads the revision that the environment's root Kustomization (flux-system, as
 * `flux bootstrap` names it) last applied in the Ory cluster.
 */
async function appliedRevision(
  readers: FluxReader[],
  logger: Logger,
): Promise<string> {
  const reader = readers[0];
  if (!reader) throw new Error("post-sync needs at least one cluster");
  const root = await reader.read("Kustomization", "flux-system", "flux-system");
  const applied = root?.status?.lastAppliedRevision;
  if (typeof applied !== "string" || applied === "") {
    throw new ToolError(
      `Kustomization flux-system/flux-system in ${reader.cluster} has not applied any revision yet; pass --revision SHA`,
      EXIT_PROBLEM,
    );
  }
  const sha = parseRevision(
    applied,
    `lastAppliedRevision of ${reader.cluster}`,
  );
  logger.info(`no --revision given: ${reader.cluster} last applied ${applied}`);
  return sha;
}

function runUrl(variables: Record<string, string | undefined>): string | null {
  const { GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID } = variables;
  if (!GITHUB_SERVER_URL || !GITHUB_REPOSITORY || !GITHUB_RUN_ID) return null;
  return `${GITHUB_SERVER_URL}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}`;
}

/** Formats a step's duration for the summary, or "-" when skipped. */
export function stepDuration(step: StepResult): string {
  return step.outcome === "skipped" ? "-" : formatDuration(step.elapsedMs);
}
