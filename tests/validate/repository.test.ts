import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validate } from "../../tools/validate/validate.js";
import { REPO_ROOT, removeTree } from "./fixture.js";

describe("this repository's manifests", () => {
  it("pass validation with nothing skipped", async () => {
    const result = await validate({ root: REPO_ROOT });
    expect(result.findings).toEqual([]);
    expect(result.skipped).toEqual([]);
    expect(result.summary.validated).toBe(result.summary.objects);
    expect(result.summary.objects).toBeGreaterThan(50);
  });

  it("pass validation for one environment", async () => {
    const result = await validate({ root: REPO_ROOT, environment: "staging" });
    expect(result.findings).toEqual([]);
    const files = new Set(result.findings.map((finding) => finding.file));
    expect(files.size).toBe(0);
  });
});

interface Mutation {
  name: string;
  file: string;
  from: string | RegExp;
  to: string;
  rules: string[];
  /** File and line the first finding of the first rule must point at. */
  at?: { file: string; line: number };
}

/**
 * Each mutation plants one mistake in a copy of the manifests; exactly the
 * listed rules must fire, so a check that goes quiet or fires on the wrong
 * thing fails here.
 */
const MUTATIONS: Mutation[] = [
  {
    name: "misspelt field in a version patch",
    file: "environments/dev/ory/versions.yaml",
    from: "      version: 0.62.1",
    to: "      versoin: 0.62.1",
    rules: ["schema-unknown-field"],
    at: { file: "environments/dev/ory/versions.yaml", line: 13 },
  },
  {
    name: "interval in words",
    file: "clusters/dev-ory/ory.yaml",
    from: "interval: 10m",
    to: "interval: 10 minutes",
    rules: ["flux-duration"],
    at: { file: "clusters/dev-ory/ory.yaml", line: 9 },
  },
  {
    name: "Kustomization path that does not exist",
    file: "clusters/dev-ory/ory.yaml",
    from: "path: ./environments/dev/ory",
    to: "path: ./environments/dev/ory-typo",
    rules: ["flux-path-missing"],
    at: { file: "clusters/dev-ory/ory.yaml", line: 12 },
  },
  {
    name: "removed Kustomization API version",
    file: "clusters/dev-ory/ory.yaml",
    from: "kustomize.toolkit.fluxcd.io/v1",
    to: "kustomize.toolkit.fluxcd.io/v1beta2",
    rules: ["api-version-removed"],
  },
  {
    name: "unquoted integer substitute value",
    file: "clusters/dev-ory/ory.yaml",
    from: "  prune: true",
    to: "  prune: true\n  postBuild:\n    substitute:\n      REPLICAS: 3",
    rules: ["flux-substitute-string"],
  },
  {
    name: "chart source that does not exist",
    file: "apps/hydra/helmrelease.yaml",
    from: /(sourceRef:\s*\n\s*kind: HelmRepository\s*\n\s*name: )(\S+)/,
    to: "$1ory-typo",
    rules: ["reference-missing"],
  },
  {
    name: "missing file in a kustomization",
    file: "apps/keto/kustomization.yaml",
    from: "resources:\n",
    to: "resources:\n  - networkpolicy.yaml\n",
    rules: ["kustomization-entry-missing", "kustomize-build"],
  },
  {
    name: "tab indentation in an overlay",
    file: "environments/dev/ory/versions.yaml",
    from: "  name: hydra",
    to: "\tname: hydra",
    rules: ["yaml-syntax"],
  },
  {
    name: "unknown tier in an environment model",
    file: "environments/staging/environment.yaml",
    from: /^tier: .*$/m,
    to: "tier: stage",
    rules: ["environment-model"],
  },
  {
    name: "CockroachDB node group below one node per zone",
    file: "clusters/dev-crdb/cluster.yaml",
    from: /minSize: 3/,
    to: "minSize: 1",
    rules: ["cluster-spec"],
  },
];

describe("mutations of this repository's manifests", () => {
  let pristine: string;

  beforeAll(async () => {
    pristine = await mkdtemp(path.join(os.tmpdir(), "validate-pristine-"));
    for (const folder of ["apps", "clusters", "environments"]) {
      await cp(path.join(REPO_ROOT, folder), path.join(pristine, folder), {
        recursive: true,
      });
    }
  });

  afterAll(async () => {
    await removeTree(pristine);
  });

  for (const mutation of MUTATIONS) {
    it(`finds ${mutation.name}`, async () => {
      const root = await mkdtemp(path.join(os.tmpdir(), "validate-mutant-"));
      try {
        await cp(pristine, root, { recursive: true });
        const target = path.join(root, mutation.file);
        const original = await readFile(target, "utf8");
        const mutated = original.replace(mutation.from, mutation.to);
        expect(mutated).not.toBe(original);
        await writeFile(target, mutated);

        const result = await validate({ root });
        const rules = [
          ...new Set(result.findings.map((finding) => finding.rule)),
        ].sort();
        expect(rules).toEqual([...mutation.rules].sort());
        if (mutation.at) {
          const first = result.findings.find(
            (finding) => finding.rule === mutation.rules[0],
          )!;
          expect({ file: first.file, line: first.line }).toEqual(mutation.at);
        }
      } finally {
        await removeTree(root);
      }
    });
  }
});
