import { chmod, open } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  DEPLOYMENT,
  FLUX_ENTRY,
  HELM_RELEASE,
  HELM_REPOSITORY,
  removeTree,
  runValidateCommand,
  writeTree,
} from "./fixture.js";

const base = {
  "clusters/test/flux.yaml": FLUX_ENTRY,
  "apps/repository.yaml": HELM_REPOSITORY,
  "apps/release.yaml": HELM_RELEASE,
  "apps/deployment.yaml": DEPLOYMENT,
};

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map(removeTree));
});

async function runOn(files: Record<string, string>, ...args: string[]) {
  const root = await writeTree(files);
  roots.push(root);
  const outcome = runValidateCommand([root, "--format", "json", ...args]);
  const json = outcome.stdout ? JSON.parse(outcome.stdout) : undefined;
  return { ...outcome, root, json };
}

const BILLION_LAUGHS = `apiVersion: v1
kind: ConfigMap
metadata:
  name: lol
data:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`;

/** Builds a ConfigMap whose anchors form a chain `length` aliases deep. */
function aliasChain(length: number): string {
  const lines = [
    "apiVersion: v1",
    "kind: ConfigMap",
    "metadata:",
    "  name: chain",
    "data:",
    "  k0: &a0 [x]",
  ];
  for (let index = 1; index < length; index++)
    lines.push(`  k${index}: &a${index} [*a${index - 1}]`);
  // Visited first, so a recursive walk goes the whole chain deep at once.
  lines.push(`  "0": *a${length - 1}`);
  return lines.join("\n") + "\n";
}

describe("validate command on bad input", () => {
  const cases: {
    name: string;
    files: Record<string, string>;
    rule: string;
    file: string;
    line: number;
  }[] = [
    {
      name: "tab-indented file",
      files: {
        "apps/deployment.yaml": DEPLOYMENT.replace(
          "  replicas: 2",
          "\treplicas: 2",
        ),
      },
      rule: "yaml-syntax",
      file: "apps/deployment.yaml",
      line: 7,
    },
    {
      name: "duplicate key",
      files: {
        "apps/deployment.yaml": DEPLOYMENT.replace(
          "  replicas: 2",
          "  replicas: 2\n  replicas: 3",
        ),
      },
      rule: "yaml-syntax",
      file: "apps/deployment.yaml",
      line: 8,
    },
    {
      name: "billion-laughs alias bomb",
      files: { "apps/lol.yaml": BILLION_LAUGHS },
      rule: "yaml-alias-bomb",
      file: "apps/lol.yaml",
      line: 1,
    },
    {
      name: "alias chain 8,000 anchors deep",
      files: { "apps/chain.yaml": aliasChain(8000) },
      rule: "yaml-alias-bomb",
      file: "apps/chain.yaml",
      line: 1,
    },
    {
      name: "HelmRelease with chart and chartRef",
      files: {
        "apps/release.yaml": HELM_RELEASE.replace(
          "  values:",
          "  chartRef:\n    kind: OCIRepository\n    name: podinfo\n  values:",
        ),
      },
      rule: "helmrelease-chart-source",
      file: "apps/release.yaml",
      line: 15,
    },
    {
      name: "interval of 5 minutes",
      files: {
        "apps/repository.yaml": HELM_REPOSITORY.replace(
          "interval: 1h",
          "interval: 5 minutes",
        ),
      },
      rule: "flux-duration",
      file: "apps/repository.yaml",
      line: 7,
    },
    {
      name: "unquoted integer in postBuild.substitute",
      files: {
        "clusters/test/flux.yaml": FLUX_ENTRY.replace(
          "  prune: true",
          "  prune: true\n  postBuild:\n    substitute:\n      REPLICAS: 3",
        ),
      },
      rule: "flux-substitute-string",
      file: "clusters/test/flux.yaml",
      line: 23,
    },
    {
      name: "Kustomization path that does not exist",
      files: {
        "clusters/test/flux.yaml": FLUX_ENTRY.replace(
          "path: ./apps",
          "path: ./nowhere",
        ),
      },
      rule: "flux-path-missing",
      file: "clusters/test/flux.yaml",
      line: 19,
    },
    {
      name: "sourceRef to a missing HelmRepository",
      files: {
        "apps/repository.yaml": HELM_REPOSITORY.replace(
          "name: podinfo",
          "name: other",
        ),
      },
      rule: "reference-missing",
      file: "apps/release.yaml",
      line: 12,
    },
  ];

  for (const testCase of cases) {
    it(`reports ${testCase.name}`, async () => {
      const { status, json } = await runOn({ ...base, ...testCase.files });
      expect(status).toBe(1);
      const finding = json.findings.find(
        (candidate: { rule: string }) => candidate.rule === testCase.rule,
      );
      expect(finding).toBeDefined();
      expect(finding.file).toBe(testCase.file);
      expect(finding.line).toBe(testCase.line);
    });
  }

  it("skips an empty file with a note", async () => {
    const { status, json } = await runOn({ ...base, "apps/empty.yaml": "" });
    expect(status).toBe(0);
    expect(json.skipped).toEqual([
      {
        file: "apps/empty.yaml",
        line: 1,
        resource: "(file)",
        reason: "empty file",
      },
    ]);
  });

  it("rejects a 50 MB file by its size", async () => {
    const root = await writeTree(base);
    roots.push(root);
    const handle = await open(path.join(root, "apps/huge.yaml"), "w");
    const line = Buffer.from("# " + "x".repeat(1021) + "\n");
    for (let written = 0; written < 50 * 1024 * 1024; written += line.length)
      await handle.write(line);
    await handle.close();
    const outcome = runValidateCommand([root, "--format", "json"]);
    expect(outcome.status).toBe(1);
    const json = JSON.parse(outcome.stdout);
    expect(
      json.findings.map((finding: { rule: string }) => finding.rule),
    ).toEqual(["yaml-too-large"]);
    expect(json.findings[0].message).toContain("8.0 MiB limit");
  });

  it("accepts values nested 150 levels deep", async () => {
    // kustomize builds this; js-yaml's own default stops at 100 levels.
    let value = "deep";
    for (let level = 0; level < 150; level++) value = `{l: ${value}}`;
    const { status, json } = await runOn({
      ...base,
      "apps/release.yaml": HELM_RELEASE.replace(
        "    replicaCount: 2",
        `    replicaCount: 2\n    nested: ${value}`,
      ),
    });
    expect(json.findings).toEqual([]);
    expect(status).toBe(0);
  });

  it("does not report a default under postBuild", async () => {
    const entry = FLUX_ENTRY.replace(
      "  prune: true",
      '  prune: true\n  postBuild:\n    substitute:\n      ENV: "test"',
    );
    const { status, json } = await runOn({
      ...base,
      "clusters/test/flux.yaml": entry,
      "apps/deployment.yaml": DEPLOYMENT.replace(
        "replicas: 2",
        "replicas: ${REPLICAS:=3}",
      ),
    });
    expect(json.findings).toEqual([]);
    expect(status).toBe(0);
  });
});

describe("validate command usage", () => {
  it("exits 2 when kubectl is missing", async () => {
    const root = await writeTree(base);
    roots.push(root);
    const outcome = runValidateCommand([root], {
      KUBECTL: "/nonexistent/kubectl",
    });
    expect(outcome.status).toBe(2);
    expect(outcome.stderr).toContain("kubectl was not found");
  });

  it("exits 2 when kubectl cannot run kustomize", async () => {
    const root = await writeTree(base);
    roots.push(root);
    // /bin/false stands for a kubectl build or wrapper without kustomize.
    const outcome = runValidateCommand([root], { KUBECTL: "/bin/false" });
    expect(outcome.status).toBe(2);
    expect(outcome.stderr).toContain("cannot run kustomize");
  });

  it("exits 2 when kubectl lacks --load-restrictor", async () => {
    // kubectl 1.14 to 1.20 run kustomize but reject this flag.
    const root = await writeTree({
      ...base,
      "bin/kubectl":
        '#!/bin/sh\ncase "$*" in *--load-restrictor*) echo "Error: unknown flag: --load-restrictor" >&2; exit 1;; esac\nexit 0\n',
    });
    roots.push(root);
    const kubectl = path.join(root, "bin/kubectl");
    await chmod(kubectl, 0o755);
    const outcome = runValidateCommand([root], { KUBECTL: kubectl });
    expect(outcome.status).toBe(2);
    expect(outcome.stderr).toContain("unknown flag: --load-restrictor");
  });

  it("exits 2 on an unknown flag", () => {
    const outcome = runValidateCommand(["--colour"]);
    expect(outcome.status).toBe(2);
    expect(outcome.stderr).toContain("Usage: npm run validate");
  });

  it("exits 2 on a path that does not exist", () => {
    const outcome = runValidateCommand(["/nonexistent/repository"]);
    expect(outcome.status).toBe(2);
    expect(outcome.stderr).toContain("does not exist");
    expect(outcome.stderr).not.toContain("    at ");
  });

  it("exits 2 on an unknown format", () => {
    const outcome = runValidateCommand([".", "--format", "xml"]);
    expect(outcome.status).toBe(2);
    expect(outcome.stderr).toContain("--format xml is not supported");
  });

  it("prints workflow annotations for github", async () => {
    const root = await writeTree({
      ...base,
      "apps/deployment.yaml": DEPLOYMENT.replace(
        "replicas: 2",
        "replicas: two",
      ),
    });
    roots.push(root);
    const outcome = runValidateCommand([root, "--format", "github"]);
    expect(outcome.status).toBe(1);
    expect(outcome.stdout).toMatch(
      /^::error file=apps\/deployment\.yaml,line=7,col=\d+,title=schema::/m,
    );
  });
});
