import { groupBySuite, type SmokeResult } from "./report.js";

/**
 * Renders JUnit XML: one <testsuite> per service (and one for SQL), one
 * <testcase> per step with its time in seconds. A failed step becomes a
 * <failure> whose text is the error, and a skipped one a <skipped>.
 */
export function renderJunit(result: SmokeResult): string {
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="smoke ${escapeXml(result.environment)}" tests="${result.steps.length}" failures="${result.summary.failed}" skipped="${result.summary.skipped}" time="${toSeconds(result.durationMs)}" timestamp="${escapeXml(result.startedAt)}">`,
  ];
  for (const [suite, steps] of groupBySuite(result.steps)) {
    const failures = steps.filter((step) => step.status === "failed").length;
    const skipped = steps.filter((step) => step.status === "skipped").length;
    const time = steps.reduce((total, step) => total + step.durationMs, 0);
    lines.push(
      `  <testsuite name="${suite}" tests="${steps.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${toSeconds(time)}" timestamp="${escapeXml(result.startedAt)}">`,
    );
    for (const step of steps) {
      const open = `    <testcase classname="smoke.${escapeXml(result.environment)}.${suite}" name="${escapeXml(step.name)}" time="${toSeconds(step.durationMs)}"`;
      if (step.status === "passed") {
        lines.push(`${open}/>`);
      } else if (step.status === "skipped") {
        lines.push(
          `${open}>`,
          `      <skipped message="${escapeXml(step.detail ?? "")}"/>`,
          `    </testcase>`,
        );
      } else {
        const error = step.error ?? "";
        lines.push(
          `${open}>`,
          `      <failure message="${escapeXml(firstLine(error))}">${escapeXml(error)}</failure>`,
          `    </testcase>`,
        );
      }
    }
    lines.push(`  </testsuite>`);
  }
  lines.push(`</testsuites>`);
  return lines.join("\n") + "\n";
}

function toSeconds(milliseconds: number): string {
  return (milliseconds / 1000).toFixed(3);
}

function firstLine(text: string): string {
  const line = text.split("\n")[0] ?? "";
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** Escapes text for XML content and attributes, dropping invalid characters. */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;");
}
