import { execFileSync } from "node:child_process";
import { symlink } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SourceIgnore } from "../../tools/validate/source-ignore.js";
import { validate } from "../../tools/validate/validate.js";
import {
  DEPLOYMENT,
  FLUX_ENTRY,
  errorRules,
  removeTree,
  validateFiles,
  writeTree,
} from "./fixture.js";

// FLUX_ENTRY applies ./apps, a folder without kustomization.yaml, where
// Flux would fail on any YAML file that is not a Kubernetes object.
const NOT_AN_OBJECT = "name: CI\non: push\njobs: {}\n";

describe("files Flux leaves out of the artifact", () => {
  it("skips the default exclusions", async () => {
    const result = await validateFiles({
      "clusters/test/flux.yaml": FLUX_ENTRY,
      "apps/deployment.yaml": DEPLOYMENT,
      "apps/.github/workflows/ci.yml": NOT_AN_OBJECT,
      "apps/.sops.yaml": "creation_rules: []\n",
    });
    expect(result.findings).toEqual([]);
    expect(result.summary.files).toBe(2);
  });

  it("skips what a .sourceignore lists", async () => {
    const result = await validateFiles({
      "clusters/test/flux.yaml": FLUX_ENTRY,
      "apps/deployment.yaml": DEPLOYMENT,
      "apps/.sourceignore": "drafts/\n",
      "apps/drafts/notes.yaml": NOT_AN_OBJECT,
    });
    expect(result.findings).toEqual([]);
  });

  it("skips what the GitRepository's spec.ignore lists", async () => {
    const entry = FLUX_ENTRY.replace(
      "  url: https://github.com/example/fleet",
      "  url: https://github.com/example/fleet\n  ignore: |\n    apps/legacy.yaml",
    );
    const result = await validateFiles({
      "clusters/test/flux.yaml": entry,
      "apps/deployment.yaml": DEPLOYMENT,
      "apps/legacy.yaml": NOT_AN_OBJECT,
    });
    expect(result.findings).toEqual([]);
  });

  it("reports a kustomization that lists an excluded file", async () => {
    const root = await writeTree({
      "clusters/test/flux.yaml": FLUX_ENTRY,
      "apps/kustomization.yaml":
        "resources:\n  - deployment.yaml\n  - cloudbuild.yaml\n",
      "apps/deployment.yaml": DEPLOYMENT,
      "apps/cloudbuild.yaml": DEPLOYMENT.replace("name: web", "name: other"),
    });
    try {
      const result = await validate({ root });
      expect(errorRules(result)).toContain("kustomization-entry-missing");
      const finding = result.findings.find(
        (candidate) => candidate.rule === "kustomization-entry-missing",
      );
      expect(finding?.message).toContain("left out of Flux's artifact");
    } finally {
      await removeTree(root);
    }
  });

  it("leaves out symbolic links, as source-controller does", async () => {
    const root = await writeTree({
      "clusters/test/flux.yaml": FLUX_ENTRY,
      "apps/kustomization.yaml":
        "resources:\n  - deployment.yaml\n  - linked.yaml\n",
      "apps/deployment.yaml": DEPLOYMENT,
      "shared/real.yaml": DEPLOYMENT.replace("name: web", "name: other"),
    });
    try {
      await symlink("../shared/real.yaml", path.join(root, "apps/linked.yaml"));
      execFileSync("git", ["init", "-q", root]);
      execFileSync("git", ["-C", root, "add", "-A"]);
      const result = await validate({ root });
      const finding = result.findings.find(
        (candidate) => candidate.rule === "kustomization-entry-missing",
      );
      expect(finding?.file).toBe("apps/kustomization.yaml");
      expect(finding?.message).toContain("symbolic link");
    } finally {
      await removeTree(root);
    }
  });
});

describe("SourceIgnore", () => {
  it("lets spec.ignore re-include a default exclusion", () => {
    const matcher = new SourceIgnore("/nonexistent", [], "!charts/keep.zip");
    expect(matcher.ignores("charts/keep.zip")).toBe(false);
    expect(matcher.ignores("charts/other.zip")).toBe(true);
    expect(matcher.ignores(".github/workflows/ci.yml")).toBe(true);
    expect(matcher.ignores("clusters/a/kustomization.yaml")).toBe(false);
  });
});
