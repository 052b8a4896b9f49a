import { shortSha } from "../sync/revision.js";
import { stepDuration, type PostSyncResult } from "./post-sync.js";

/** Renders one line per step, then the exit code. */
export function renderText(result: PostSyncResult): string {
  const lines = [
    `post-sync ${result.environment} at ${shortSha(result.revision)}${result.runUrl ? ` (${result.runUrl})` : ""}`,
  ];
  for (const step of result.steps) {
    lines.push(
      `  ${step.name.padEnd(8)} ${step.outcome.padEnd(8)} ${stepDuration(step).padStart(6)}  ${step.detail}`,
    );
  }
  const failed = result.steps.find((step) => step.outcome === "failed");
  lines.push(
    failed
      ? `exit ${result.exitCode}: ${failed.name} failed`
      : "exit 0: every step passed or had nothing to do",
  );
  return lines.join("\n") + "\n";
}

export function renderJson(result: PostSyncResult): string {
  return (
    JSON.stringify(
      {
        environment: result.environment,
        revision: result.revision,
        exitCode: result.exitCode,
        runUrl: result.runUrl,
        steps: result.steps.map((step) => ({
          name: step.name,
          outcome: step.outcome,
          exitCode: step.exitCode,
          elapsedSeconds: Math.round(step.elapsedMs / 1000),
          detail: step.detail,
        })),
      },
      null,
      2,
    ) + "\n"
  );
}

/** Renders a Markdown table of the steps for the Actions job summary. */
export function renderMarkdown(result: PostSyncResult): string {
  const lines = [
    `### post-sync ${result.environment} at \`${shortSha(result.revision)}\``,
    "",
    "| step | outcome | time | detail |",
    "| --- | --- | --- | --- |",
  ];
  for (const step of result.steps) {
    const detail = step.detail.replaceAll("|", "\\|").replaceAll("\n", " ");
    lines.push(
      `| ${step.name} | ${step.outcome} | ${stepDuration(step)} | ${detail} |`,
    );
  }
  return lines.join("\n") + "\n\n";
}
