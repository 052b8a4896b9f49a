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

describe("finding sink", () => {
  const finding = (resource: string) => ({
    rule: "schema",
    severity: "error" as const,
    file: "base/cm.yaml",
    line: 3,
    column: 1,
    resource,
    message: "data.key must be a string",
  });

  it("keeps the same copy whatever the order", () => {
    const forward = new FindingSink();
    const backward = new FindingSink();
    const resources = [
      "ConfigMap/ns2/a",
      "ConfigMap/ns10/a",
      "ConfigMap/ns1/a",
    ];
    for (const resource of resources) forward.add(finding(resource));
    for (const resource of [...resources].reverse())
      backward.add(finding(resource));
    expect(forward.findings).toEqual([finding("ConfigMap/ns1/a")]);
    expect(backward.findings).toEqual(forward.findings);
  });

  it("lists a skip once", () => {
    const sink = new FindingSink();
    const entry = {
      file: "apps/ks.yaml",
      line: 1,
      resource: "Kustomization/flux-system/apps",
      reason: "not built",
    };
    sink.skip(entry);
    sink.skip({ ...entry });
    expect(sink.skipped).toEqual([entry]);
  });
});
