import type { EndpointName } from "../lib/environment.js";
import { seconds, SUITES, type StepResult, type Suite } from "./steps.js";

/** Everything one run found; `--format json` prints it as is. */
export interface SmokeResult {
  /** The summary line, e.g. "PASSED (3 skipped): 28 passed, 0 failed, 3 skipped in 4.21 s". */
  verdict: string;
  /** Conditions that weakened the run, such as SQL checks skipped without a DSN. */
  warnings: string[];
  environment: string;
  runId: string;
  readOnly: boolean;
  startedAt: string;
  durationMs: number;
  /** True when SIGINT or SIGTERM stopped the checks. */
  interrupted: boolean;
  /** True when no step failed and the run was not interrupted. */
  passed: boolean;
  endpoints: { name: EndpointName; url: string; source: string }[];
  summary: { passed: number; failed: number; skipped: number };
  steps: StepResult[];
  commitStatus?: {
    context: string;
    sha: string;
    state: "success" | "failure";
    posted: boolean;
    error?: string;
  };
}

/** Counts the steps by status. */
export function summarize(steps: StepResult[]): SmokeResult["summary"] {
  const count = (status: StepResult["status"]) =>
    steps.filter((step) => step.status === status).length;
  return {
    passed: count("passed"),
    failed: count("failed"),
    skipped: count("skipped"),
  };
}

/** Returns the steps grouped by suite, in the order hydra, kratos, keto, sql. */
export function groupBySuite(steps: StepResult[]): [Suite, StepResult[]][] {
  return SUITES.map((suite): [Suite, StepResult[]] => [
    suite,
    steps.filter((step) => step.suite === suite),
  ]).filter(([, members]) => members.length > 0);
}

/** Renders the terminal report: a table, then each failure's full error. */
export function renderText(result: SmokeResult): string {
  const mode = result.readOnly ? "read-only" : "read-write";
  const lines = [
    `smoke ${result.environment} (${mode}, run ${result.runId})`,
    ...result.endpoints.map(
      (endpoint) => `  ${endpoint.name}: ${endpoint.url} (${endpoint.source})`,
    ),
    "",
  ];
  const rows = result.steps.map((step) => [
    step.suite,
    step.name,
    step.status === "failed" ? "FAILED" : step.status,
    step.status === "skipped" ? "" : seconds(step.durationMs),
    step.status === "failed" ? "see below" : (step.detail ?? ""),
  ]);
  const header = ["suite", "step", "result", "time", "detail"];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const format = (row: string[]) =>
    row
      .map((cell, column) =>
        column === row.length - 1 ? cell : cell.padEnd(widths[column]!),
      )
      .join("  ")
      .trimEnd();
  lines.push(format(header), ...rows.map(format));

  const failures = result.steps.filter((step) => step.status === "failed");
  if (failures.length > 0) lines.push("", "Failures:");
  for (const step of failures) {
    lines.push(`  ${step.suite}: ${step.name}`, `    ${step.error ?? ""}`);
  }
  lines.push("", ...result.warnings.map((warning) => `warning: ${warning}`));
  lines.push(summaryLine(result));
  if (result.commitStatus) {
    const status = result.commitStatus;
    lines.push(
      status.posted
        ? `commit status ${status.context} = ${status.state} posted on ${status.sha}`
        : `commit status ${status.context} not posted: ${status.error ?? ""}`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * Returns e.g. "PASSED (3 skipped): 28 passed, 0 failed, 3 skipped in
 * 4.21 s". The verdict names skipped steps, so a pass that left checks out
 * does not read like a complete one.
 */
export function summaryLine(result: SmokeResult): string {
  const { passed, failed, skipped } = result.summary;
  const verdict = result.interrupted
    ? "INTERRUPTED"
    : result.passed
      ? "PASSED"
      : "FAILED";
  const note = skipped > 0 ? ` (${skipped} skipped)` : "";
  return `${verdict}${note}: ${passed} passed, ${failed} failed, ${skipped} skipped in ${seconds(result.durationMs)}`;
}

export function renderJson(result: SmokeResult): string {
  return JSON.stringify(result, null, 2) + "\n";
}

/** Renders the Markdown that goes into a GitHub Actions job summary. */
export function renderMarkdown(result: SmokeResult): string {
  const mode = result.readOnly ? "read-only" : "read-write";
  const icon = { passed: "✅", failed: "❌", skipped: "⏭️" } as const;
  const lines = [
    `## Smoke test of ${result.environment} (${mode})`,
    "",
    summaryLine(result),
    "",
    "| suite | step | result | time | detail |",
    "|---|---|---|---|---|",
  ];
  for (const step of result.steps) {
    const detail = step.status === "failed" ? step.error : step.detail;
    lines.push(
      `| ${step.suite} | ${escapeCell(step.name)} | ${icon[step.status]} ${step.status} | ${step.status === "skipped" ? "" : seconds(step.durationMs)} | ${escapeCell(detail ?? "")} |`,
    );
  }
  return lines.join("\n") + "\n\n";
}

function escapeCell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}
