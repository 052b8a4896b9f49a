import { describe, expect, it } from "vitest";
import { formatGithub } from "../../tools/validate/report.js";
import type { ValidateResult } from "../../tools/validate/validate.js";

function resultWithFile(file: string): ValidateResult {
  return {
    findings: [
      {
        rule: "schema",
        severity: "error",
        file,
        line: 3,
        column: 1,
        message: "spec.replicas must be an integer",
        fix: "write a number",
      },
    ],
    skipped: [{ file, line: 9, resource: "ConfigMap/a", reason: "empty" }],
    summary: {
      files: 1,
      objects: 1,
      validated: 1,
      skipped: 1,
      errors: 1,
      warnings: 0,
      notes: 0,
      builds: 1,
      elapsedMs: 1,
      kustomizeMs: 0,
    },
  };
}

/** Returns the data rows of the findings table in a job summary. */
function findingRows(summary: string): string[] {
  const lines = summary.split("\n");
  const header = lines.indexOf("|---|---|---|---|---|");
  const rows: string[] = [];
  for (const line of lines.slice(header + 1)) {
    if (!line.startsWith("|")) break;
    rows.push(line);
  }
  return rows;
}

describe("github job summary", () => {
  it("keeps a file name with a pipe in one cell", () => {
    const { summary } = formatGithub(resultWithFile("apps/we|ird.yaml"));
    const rows = findingRows(summary);
    expect(rows).toHaveLength(1);
    // Five cells: five unescaped pipes between them plus the outer two.
    expect(rows[0]!.split(/(?<!\\)\|/)).toHaveLength(7);
    expect(rows[0]).toContain("`apps/we\\|ird.yaml:3`");
  });

  it("fences a file name with backticks", () => {
    const { summary } = formatGithub(resultWithFile("apps/odd`name.yaml"));
    expect(findingRows(summary)[0]).toContain("``apps/odd`name.yaml:3``");
    expect(summary).toContain("- ``apps/odd`name.yaml:9`` ConfigMap/a");
  });

  it("keeps a file name with a newline on one line", () => {
    const { summary } = formatGithub(resultWithFile("apps/two\nlines.yaml"));
    const rows = findingRows(summary);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain("`apps/two lines.yaml:3`");
  });

  it("shows tags in a skipped entry as text", () => {
    const result = resultWithFile("apps/a.yaml");
    result.skipped[0]!.resource = "ConfigMap/<img src=x>";
    const { summary } = formatGithub(result);
    expect(summary).toContain("ConfigMap/&lt;img src=x&gt;");
    expect(summary).not.toContain("<img");
  });

  it("keeps a message with a carriage return in its row", () => {
    const result = resultWithFile("apps/a.yaml");
    result.findings[0]!.message = "first\r\nsecond";
    const rows = findingRows(formatGithub(result).summary);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain("first second");
  });
});
