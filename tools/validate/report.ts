import type { Finding } from "./findings.js";
import type { ValidateResult } from "./validate.js";

/** Human-readable findings grouped by file, then the skipped list and a summary. */
export function formatText(result: ValidateResult): string {
  const lines: string[] = [];
  const byFile = new Map<string, Finding[]>();
  for (const finding of result.findings) {
    const list = byFile.get(finding.file) ?? [];
    list.push(finding);
    byFile.set(finding.file, list);
  }
  for (const [file, findings] of byFile) {
    lines.push(file);
    for (const finding of findings) {
      const resource = finding.resource ? ` (${finding.resource})` : "";
      lines.push(
        `  ${finding.line}:${finding.column}  ${finding.severity}  ${finding.message}${resource}  [${finding.rule}]`,
      );
      if (finding.fix) lines.push(`      fix: ${finding.fix}`);
    }
    lines.push("");
  }
  if (result.skipped.length > 0) {
    lines.push("Skipped:");
    for (const entry of result.skipped) {
      lines.push(
        `  ${entry.file}:${entry.line}  ${entry.resource}: ${entry.reason}`,
      );
    }
    lines.push("");
  }
  lines.push(summaryLine(result));
  return lines.join("\n") + "\n";
}

export function summaryLine(result: ValidateResult): string {
  const s = result.summary;
  const status = s.errors > 0 ? "FAILED" : "OK";
  return (
    `${status}: ${s.files} files, ${s.objects} objects, ${s.validated} validated, ` +
    `${s.skipped} skipped, ${plural(s.errors, "error")}, ${plural(s.warnings, "warning")} ` +
    `(${(s.elapsedMs / 1000).toFixed(2)} s, of which kustomize ${(s.kustomizeMs / 1000).toFixed(2)} s over ${plural(s.builds, "build")})`
  );
}

/** The result as one JSON document for machines. */
export function formatJson(result: ValidateResult): string {
  return JSON.stringify(result, null, 2) + "\n";
}

/**
 * GitHub Actions workflow commands, one annotation per finding, followed by
 * the summary line. The Markdown job summary is returned apart, for
 * $GITHUB_STEP_SUMMARY.
 */
export function formatGithub(result: ValidateResult): {
  annotations: string;
  summary: string;
} {
  const lines: string[] = [];
  for (const finding of result.findings) {
    const command =
      finding.severity === "error"
        ? "error"
        : finding.severity === "warning"
          ? "warning"
          : "notice";
    const properties = [
      `file=${escapeProperty(finding.file)}`,
      `line=${finding.line}`,
      `col=${finding.column}`,
      `title=${escapeProperty(finding.rule)}`,
    ].join(",");
    const text = finding.fix
      ? `${finding.message}\nFix: ${finding.fix}`
      : finding.message;
    lines.push(`::${command} ${properties}::${escapeData(text)}`);
  }
  lines.push(summaryLine(result));
  return {
    annotations: lines.join("\n") + "\n",
    summary: markdownSummary(result),
  };
}

function markdownSummary(result: ValidateResult): string {
  const s = result.summary;
  const lines = [
    `## validate: ${s.errors > 0 ? "failed" : "passed"}`,
    "",
    "| files | objects | validated | skipped | errors | warnings |",
    "|---:|---:|---:|---:|---:|---:|",
    `| ${s.files} | ${s.objects} | ${s.validated} | ${s.skipped} | ${s.errors} | ${s.warnings} |`,
    "",
  ];
  if (result.findings.length > 0) {
    lines.push(
      "| where | severity | rule | problem | fix |",
      "|---|---|---|---|---|",
    );
    for (const finding of result.findings) {
      lines.push(
        `| ${cell(code(`${finding.file}:${finding.line}`))} | ${finding.severity} | ${finding.rule} | ${cell(escapeHtml(finding.message))} | ${cell(escapeHtml(finding.fix ?? ""))} |`,
      );
    }
    lines.push("");
  }
  if (result.skipped.length > 0) {
    lines.push(
      `<details><summary>${result.skipped.length} skipped</summary>`,
      "",
    );
    for (const entry of result.skipped)
      lines.push(
        `- ${code(`${entry.file}:${entry.line}`)} ${escapeHtml(entry.resource)}: ${escapeHtml(entry.reason)}`,
      );
    lines.push("", "</details>", "");
  }
  return lines.join("\n");
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll(/[\r\n]+/g, " ");
}

/** Keeps text that looks like an HTML tag from being rendered as one. */
function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll(/[\r\n]+/g, " ");
}

/**
 * Formats text as a Markdown code span that survives any file name: the
 * fence is one backtick longer than the longest run inside, and line breaks
 * become spaces.
 */
function code(text: string): string {
  const flat = text.replaceAll(/[\r\n]+/g, " ");
  const runs = flat.match(/`+/g) ?? [];
  const fence = "`".repeat(Math.max(0, ...runs.map((run) => run.length)) + 1);
  const padded =
    flat.startsWith("`") || flat.endsWith("`") ? ` ${flat} ` : flat;
  return `${fence}${padded}${fence}`;
}

function escapeData(text: string): string {
  return text
    .replaceAll("%", "%25")
    .replaceAll("\r", "%0D")
    .replaceAll("\n", "%0A");
}

function escapeProperty(text: string): string {
  return escapeData(text).replaceAll(":", "%3A").replaceAll(",", "%2C");
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}
