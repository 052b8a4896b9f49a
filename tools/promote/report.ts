import { shortSha } from "../sync/revision.js";
import type { PromotionResult } from "./promote.js";

/** Renders the result for a person; a dry run adds the diff and the pull request. */
export function renderText(result: PromotionResult): string {
  const lines = [
    `${result.from} -> ${result.to} at ${shortSha(result.baseCommit)}: ${result.changes.length} change(s)`,
  ];
  const width = Math.max(0, ...result.changes.map((c) => c.service.length));
  for (const change of result.changes) {
    lines.push(
      `  ${change.service.padEnd(width)}  ${change.field.padEnd(5)}  ${change.from} -> ${change.to}  ${change.targetFile}:${change.targetLine}  (from ${shortSha(change.sourceCommit)})`,
    );
  }
  for (const skip of result.skipped) {
    const field = skip.field ? ` ${skip.field}` : "";
    lines.push(`  not promoted: ${skip.service}${field}: ${skip.reason}`);
  }
  if (result.gate) {
    const forced =
      result.forced && result.gate.state !== "passed"
        ? " (overridden by --force)"
        : "";
    lines.push(`gate${forced}: ${result.gate.summary}`);
    if (result.gate.note) lines.push(result.gate.note);
  }
  if (result.action === "dry-run") {
    lines.push("", result.diff.trimEnd());
    lines.push("", `--- pull request ---`, `title: ${result.title ?? ""}`);
    lines.push(`labels: promotion, env:${result.to}`, "", result.body ?? "");
  }
  lines.push(result.message);
  return lines.join("\n").trimEnd() + "\n";
}

/** Renders the result for a program. */
export function renderJson(result: PromotionResult): string {
  return (
    JSON.stringify(
      {
        from: result.from,
        to: result.to,
        action: result.action,
        exitCode: result.exitCode,
        message: result.message,
        branch: result.branch,
        baseCommit: result.baseCommit,
        commit: result.commit,
        changes: result.changes,
        skipped: result.skipped,
        gate: result.gate,
        forced: result.forced,
        pullRequest: result.pullRequest,
        title: result.title,
        body: result.body,
        diff: result.diff,
        foreignCommits: result.foreignCommits,
      },
      null,
      2,
    ) + "\n"
  );
}
