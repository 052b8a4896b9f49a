import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  validate,
  type ValidateResult,
} from "../../tools/validate/validate.js";
import {
  DEPLOYMENT,
  FLUX_ENTRY,
  errorRules,
  removeTree,
  validateFiles,
  writeTree,
} from "./fixture.js";

// Each case builds ./apps through the Flux entry, with a kustomization of
// its own, and compares the result with what `kubectl kustomize` does. The
// entry itself contains two objects, a GitRepository and a Kustomization.
const entry = { "clusters/test/flux.yaml": FLUX_ENTRY };

function configMap(name: string, extra = ""): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}data:\n  key: value\n`;
}

const BOMB = `apiVersion: v1
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
`;

function notBuilt(result: ValidateResult): string[] {
  return result.skipped
    .filter((skip) => skip.reason.startsWith("not built"))
    .map((skip) => skip.resource);
}

describe("builds read what kustomize reads", () => {
  it("fails a folder with two kustomization files", async () => {
    const result = await validateFiles({
      ...entry,
      "apps/kustomization.yaml": "resources:\n  - a.yaml\n",
      "apps/kustomization.yml": "resources:\n  - a.yaml\n",
      "apps/a.yaml": configMap("a"),
    });
    expect(errorRules(result)).toEqual(["kustomize-build"]);
    expect(result.findings[0]!.message).toContain(
      "multiple kustomization files",
    );
  });

  it("treats no namespace as default in ids", async () => {
    const result = await validateFiles({
      ...entry,
      "apps/kustomization.yaml": "resources:\n  - a.yaml\n  - b.yaml\n",
      "apps/a.yaml": configMap("a"),
      "apps/b.yaml": configMap("a").replace(
        "  name: a\n",
        "  name: a\n  namespace: default\n",
      ),
    });
    expect(errorRules(result)).toEqual(["kustomize-build"]);
  });

  it("keeps one name in two API groups apart", async () => {
    const bucket = (apiVersion: string) =>
      `apiVersion: ${apiVersion}\nkind: Bucket\nmetadata:\n  name: a\n  namespace: x\nspec:\n  interval: 5m\n  bucketName: b\n  endpoint: minio.example.com\n`;
    const result = await validateFiles({
      ...entry,
      "apps/kustomization.yaml": "resources:\n  - a.yaml\n  - b.yaml\n",
      "apps/a.yaml": bucket("source.toolkit.fluxcd.io/v1"),
      "apps/b.yaml": bucket("s3.aws.example.com/v1beta1"),
    });
    expect(errorRules(result)).not.toContain("kustomize-build");
  });

  it("expands a List like kustomize", async () => {
    const list = `apiVersion: v1\nkind: List\nitems:\n  - ${configMap("a")
      .trimEnd()
      .split("\n")
      .join("\n    ")}\n`;
    const result = await validateFiles({
      ...entry,
      "apps/kustomization.yaml": "resources:\n  - list.yaml\n",
      "apps/list.yaml": list,
    });
    expect(result.findings).toEqual([]);
    expect(result.summary.objects).toBe(3);
  });

  it("checks files listed by a Kustomization without extension", async () => {
    const result = await validateFiles({
      ...entry,
      "apps/Kustomization": "resources:\n  - a.yaml\n  - ../shared/bomb.yaml\n",
      "apps/a.yaml": configMap("a"),
      "shared/bomb.yaml": BOMB,
    });
    expect(errorRules(result)).toEqual(["yaml-alias-bomb"]);
    expect(notBuilt(result)).toEqual(["build of apps"]);
  });

  it("checks a listed JSON file before kustomize reads it", async () => {
    const result = await validateFiles({
      ...entry,
      "apps/kustomization.yaml": "resources:\n  - a.yaml\n  - bomb.json\n",
      "apps/a.yaml": configMap("a"),
      "apps/bomb.json": BOMB,
    });
    expect(
      result.findings.map((finding) => `${finding.rule} ${finding.file}`),
    ).toEqual(["yaml-alias-bomb apps/bomb.json"]);
    expect(notBuilt(result)).toEqual(["build of apps"]);
  });

  it("reports a listed named pipe without waiting on it", async () => {
    const root = await writeTree({
      ...entry,
      "apps/kustomization.yaml": "resources:\n  - a.yaml\n  - pipe.yaml\n",
      "apps/a.yaml": configMap("a"),
    });
    try {
      execFileSync("mkfifo", [path.join(root, "apps/pipe.yaml")]);
      const started = Date.now();
      const result = await validate({ root });
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(
        result.findings.map((finding) => `${finding.rule} ${finding.file}`),
      ).toEqual(["yaml-unreadable apps/pipe.yaml"]);
      expect(notBuilt(result)).toEqual(["build of apps"]);
    } finally {
      await removeTree(root);
    }
  });

  it("builds past a broken file the kustomization does not list", async () => {
    const result = await validateFiles({
      ...entry,
      "apps/kustomization.yaml": "resources:\n  - deployment.yaml\n",
      "apps/deployment.yaml": DEPLOYMENT.replace(
        "replicas: 2",
        "replicas: two",
      ),
      "apps/notes.yaml": "notes: [\n",
    });
    expect(errorRules(result)).toEqual(["schema", "yaml-syntax"]);
    expect(notBuilt(result)).toEqual([]);
  });

  it("builds past a generator source that is not valid YAML", async () => {
    const result = await validateFiles({
      ...entry,
      "apps/kustomization.yaml":
        "configMapGenerator:\n  - name: settings\n    files:\n      - settings.yaml\n",
      "apps/settings.yaml": "server:\n\tport: 8080\n",
    });
    // The file is still a YAML file in git with a syntax error.
    expect(errorRules(result)).toEqual(["yaml-syntax"]);
    expect(notBuilt(result)).toEqual([]);
    expect(result.summary.objects).toBe(3);
  });

  it("accepts a one-line inline strategic merge patch", async () => {
    const result = await validateFiles({
      ...entry,
      "apps/kustomization.yaml":
        'resources:\n  - a.yaml\npatchesStrategicMerge:\n  - \'{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"key": "patched"}}\'\n',
      "apps/a.yaml": configMap("a"),
    });
    expect(result.findings).toEqual([]);
    expect(result.summary.objects).toBe(3);
  });

  it("reports a listed path outside the repository", async () => {
    const result = await validateFiles({
      ...entry,
      "apps/kustomization.yaml":
        "resources:\n  - a.yaml\n  - ../../elsewhere/cm.yaml\n",
      "apps/a.yaml": configMap("a"),
    });
    const finding = result.findings.find(
      (candidate) => candidate.rule === "kustomization-entry-missing",
    );
    expect(finding?.message).toContain("outside the repository");
    expect(finding?.file).toBe("apps/kustomization.yaml");
  });

  it("leaves out upper-case .YAML where Flux generates the list", async () => {
    const result = await validateFiles({
      ...entry,
      "apps/a.yaml": configMap("a"),
      "apps/b.YAML": configMap("b"),
    });
    expect(result.findings).toEqual([]);
    expect(result.summary.objects).toBe(3);
    expect(result.skipped.map((skip) => skip.file)).toEqual(["apps/b.YAML"]);
    expect(result.skipped[0]!.reason).toContain("lower-case .yaml");
  });

  it("does not build a kustomization listing an absolute path", async () => {
    const result = await validateFiles({
      ...entry,
      "apps/kustomization.yaml": "resources:\n  - a.yaml\n  - /etc/hostname\n",
      "apps/a.yaml": configMap("a"),
    });
    const finding = result.findings.find(
      (candidate) => candidate.rule === "kustomization-entry-missing",
    );
    expect(finding?.message).toContain("absolute path");
    expect(notBuilt(result)).toEqual(["build of apps"]);
  });

  it("does not build a component outside the repository", async () => {
    const result = await validateFiles({
      "clusters/test/flux.yaml": FLUX_ENTRY.replace(
        "  prune: true",
        "  prune: true\n  components:\n    - ../../outside",
      ),
      "apps/kustomization.yaml": "resources:\n  - a.yaml\n",
      "apps/a.yaml": configMap("a"),
    });
    expect(errorRules(result)).toEqual(["flux-path-missing"]);
    expect(result.findings[0]!.message).toContain("spec.components[0]");
    expect(notBuilt(result)).toEqual(["build of apps"]);
  });

  it("does not build past an alias bomb in an inline patch", async () => {
    const bomb = BOMB.split("\n")
      .map((line) => `      ${line}`)
      .join("\n");
    const result = await validateFiles({
      ...entry,
      "apps/kustomization.yaml": `resources:\n  - a.yaml\npatches:\n  - patch: |\n${bomb}\n`,
      "apps/a.yaml": configMap("a"),
    });
    expect(errorRules(result)).toEqual(["yaml-alias-bomb"]);
    expect(result.findings[0]!.file).toBe("apps/kustomization.yaml");
    expect(notBuilt(result)).toEqual(["build of apps"]);
  });

  it("builds past a broken file a nested kustomization does not list", async () => {
    // ./apps has no kustomization.yaml, so Flux lists its files and the
    // folder sub, whose own kustomization leaves broken.yaml out.
    const result = await validateFiles({
      ...entry,
      "apps/deployment.yaml": DEPLOYMENT.replace(
        "replicas: 2",
        "replicas: two",
      ),
      "apps/sub/kustomization.yaml": "resources:\n  - a.yaml\n",
      "apps/sub/a.yaml": configMap("a"),
      "apps/sub/broken.yaml": "notes: [\n",
    });
    expect(errorRules(result)).toEqual(["schema", "yaml-syntax"]);
    expect(notBuilt(result)).toEqual([]);
  });

  it("leaves a misspelt kustomization kind to kustomize", async () => {
    const result = await validateFiles({
      ...entry,
      "apps/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomisation\nresources:\n  - a.yaml\n",
      "apps/a.yaml": configMap("a"),
    });
    expect(errorRules(result)).toContain("kustomize-build");
  });

  it("leaves a Component listed as a resource to kustomize", async () => {
    const result = await validateFiles({
      ...entry,
      "apps/kustomization.yaml": "resources:\n  - a.yaml\n  - extra\n",
      "apps/a.yaml": configMap("a"),
      "apps/extra/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - b.yaml\n",
      "apps/extra/b.yaml": configMap("b"),
    });
    expect(errorRules(result)).toContain("kustomize-build");
  });

  it("keeps two versions of one kind apart, as kustomize does", async () => {
    const hpa = (version: string) =>
      `apiVersion: autoscaling/${version}\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: web\n  namespace: default\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: web\n  maxReplicas: 3\n`;
    const result = await validateFiles({
      ...entry,
      "apps/kustomization.yaml": "resources:\n  - a.yaml\n  - b.yaml\n",
      "apps/a.yaml": hpa("v2"),
      "apps/b.yaml": hpa("v1"),
    });
    expect(errorRules(result)).not.toContain("kustomize-build");
  });
});
