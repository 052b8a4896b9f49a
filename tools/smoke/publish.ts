import { appendFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { UsageError } from "../lib/errors.js";
import type { Logger } from "../lib/log.js";
import { actionsRunUrl, type CommitStatusPublisher } from "./github.js";
import { renderJunit } from "./junit.js";
import type { SmokeOptions } from "./options.js";
import { renderMarkdown, type SmokeResult } from "./report.js";

/** Creates the folder of an output file, or throws a UsageError. */
export async function prepareFolder(file: string, flag: string): Promise<void> {
  try {
    await mkdir(path.dirname(file), { recursive: true });
  } catch (error) {
    throw new UsageError(
      `${flag} ${file}: cannot create its folder (${(error as Error).message})`,
      { cause: error },
    );
  }
}

/**
 * Posts the result as `smoke/<environment>`. An interrupted run posts
 * nothing, so that it cannot replace the status of a complete run.
 */
export async function postCommitStatus(
  publisher: CommitStatusPublisher,
  result: SmokeResult,
  sha: string,
  variables: Record<string, string | undefined>,
  logger: Logger,
): Promise<NonNullable<SmokeResult["commitStatus"]>> {
  const context = `smoke/${result.environment}`;
  const state = result.passed ? "success" : "failure";
  if (result.interrupted) {
    return {
      context,
      sha,
      state,
      posted: false,
      error: "the run was interrupted",
    };
  }
  const failed = result.steps.filter((step) => step.status === "failed");
  const skipped = result.summary.skipped;
  const skippedNote = skipped > 0 ? `, ${skipped} skipped` : "";
  const description = result.passed
    ? `${result.summary.passed} steps passed${skippedNote} in ${(result.durationMs / 1000).toFixed(1)} s`
    : `${failed.length} failed${skippedNote}: ${failed.map((step) => `${step.suite} ${step.name}`).join(", ")}`;
  try {
    await publisher.post({
      sha,
      state,
      context,
      description: truncate(description, 140),
      targetUrl: actionsRunUrl(variables),
    });
    logger.info(`posted commit status ${context} = ${state} on ${sha}`);
    return { context, sha, state, posted: true };
  } catch (error) {
    const message = (error as Error).message;
    logger.error(
      `cannot post commit status ${context} on ${sha}: ${message}; check that GITHUB_TOKEN has statuses: write on ${variables.GITHUB_REPOSITORY}`,
    );
    return { context, sha, state, posted: false, error: message };
  }
}

/** Writes the JUnit file and the job summary; returns false when one fails. */
export async function writeReports(
  result: SmokeResult,
  options: SmokeOptions,
  variables: Record<string, string | undefined>,
  logger: Logger,
): Promise<boolean> {
  let written = true;
  if (options.junitFile) {
    try {
      await writeFile(options.junitFile, renderJunit(result));
      logger.info(`wrote JUnit XML to ${options.junitFile}`);
    } catch (error) {
      logger.error(
        `cannot write --junit ${options.junitFile}: ${(error as Error).message}`,
      );
      written = false;
    }
  }
  const summaryFile = variables.GITHUB_STEP_SUMMARY;
  if (summaryFile) {
    try {
      await appendFile(summaryFile, renderMarkdown(result));
    } catch (error) {
      logger.warn(
        `cannot append to the job summary ${summaryFile}: ${(error as Error).message}`,
      );
    }
  }
  return written;
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}
