import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { allRules } from "../../tools/validate/rules.js";
import { renderRulesDoc } from "../../tools/validate/rules-doc.js";
import { FindingSink } from "../../tools/validate/findings.js";
import { REPO_ROOT } from "./fixture.js";

describe("rule catalogue", () => {
  it("matches docs/rules.md", async () => {
    const committed = await readFile(
      path.join(REPO_ROOT, "docs/rules.md"),
      "utf8",
    );
    expect(committed).toBe(renderRulesDoc());
  });

  it("gives every rule a reason and a fix", () => {
    for (const rule of allRules()) {
      expect(rule.why.length, rule.id).toBeGreaterThan(20);
      expect(rule.fix.length, rule.id).toBeGreaterThan(5);
    }
  });

  it("rejects a finding with an unregistered rule", () => {
    const sink = new FindingSink();
    expect(() =>
      sink.add({
        rule: "no-such-rule",
        severity: "error",
        file: "a.yaml",
        line: 1,
        column: 1,
        message: "x",
      }),
    ).toThrow("unregistered rule");
  });
});
