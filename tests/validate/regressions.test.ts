import { execFileSync } from "node:child_process";
import { symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { validate } from "../../tools/validate/validate.js";
import {
  DEPLOYMENT,
  FLUX_ENTRY,
  HELM_RELEASE,
  HELM_REPOSITORY,
  errorRules,
  removeTree,
  runValidateCommand,
  validateFiles,
  writeTree,
} from "./fixture.js";

/** A cluster root as `flux bootstrap` writes it, applying ./clusters/<name>. */
function clusterRoot(name: string, extra = ""): string {
  return `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m
  url: https://github.com/example/fleet
  ref:
    branch: main
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m
  path: ./clusters/${name}
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
${extra}`;
}

function appsKustomization(path: string, extra = ""): string {
  return `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ${path}
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
${extra}`;
}

const base = {
  "clusters/test/flux.yaml": FLUX_ENTRY,
  "apps/repository.yaml": HELM_REPOSITORY,
  "apps/release.yaml": HELM_RELEASE,
  "apps/deployment.yaml": DEPLOYMENT,
};

describe("validate determinism and cluster scoping", () => {
  it("gives the same result on every run", async () => {
    const files = {
      "clusters/a/flux.yaml": clusterRoot("a"),
      "clusters/a/apps.yaml": appsKustomization("./apps/a"),
      "clusters/b/flux.yaml": clusterRoot("b"),
      "clusters/b/apps.yaml": appsKustomization("./apps/b"),
      "apps/a/release.yaml": HELM_RELEASE,
      "apps/b/repository.yaml": HELM_REPOSITORY,
    };
    const root = await writeTree(files);
    try {
      const runs = [];
      for (let run = 0; run < 4; run++) runs.push(await validate({ root }));
      for (const result of runs) {
        expect(result.summary.objects).toBe(runs[0]!.summary.objects);
        expect(errorRules(result)).toEqual(["reference-missing"]);
      }
    } finally {
      await removeTree(root);
    }
  });

  it("gives the same findings whatever build ends first", async () => {
    // Six Kustomizations build one base into six namespaces; the same
    // finding comes from each, in whatever order the builds end.
    const kustomizations = Array.from({ length: 6 }, (_, index) =>
      appsKustomization(
        "./apps/shared",
        `  targetNamespace: ns${index + 1}\n  postBuild:\n    substitute:\n      FOO: bar\n`,
      ).replace("name: apps", `name: apps${index + 1}`),
    ).join("---\n");
    const root = await writeTree({
      "clusters/a/flux.yaml": clusterRoot("a"),
      "clusters/a/apps.yaml": kustomizations,
      "apps/shared/cm.yaml":
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\nbogusField: 1\ndata:\n  key: ${MISSING}\n",
    });
    try {
      const outputs = new Set<string>();
      for (const concurrency of [1, 2, 8, 8]) {
        const result = await validate({ root, concurrency });
        outputs.add(JSON.stringify([result.findings, result.skipped]));
      }
      expect(outputs.size).toBe(1);
      const result = JSON.parse([...outputs][0]!)[0] as { rule: string }[];
      expect(result.map((finding) => finding.rule)).toContain(
        "schema-unknown-field",
      );
    } finally {
      await removeTree(root);
    }
  });

  it("builds a Kustomization outside the cluster folder once", async () => {
    // apps applies both the HelmRepository and the Kustomization infra,
    // whose HelmRelease uses it; infra's file is outside clusters/.
    const infra = appsKustomization("./infra").replace(
      "name: apps",
      "name: infra",
    );
    const result = await validateFiles({
      "clusters/dev/flux.yaml": clusterRoot("dev"),
      "clusters/dev/apps.yaml": appsKustomization("./apps/demo"),
      "apps/demo/kustomization.yaml":
        "resources:\n  - infra.yaml\n  - repository.yaml\n",
      "apps/demo/infra.yaml": infra,
      "apps/demo/repository.yaml": HELM_REPOSITORY,
      "infra/kustomization.yaml": "resources:\n  - release.yaml\n",
      "infra/release.yaml": HELM_RELEASE,
    });
    expect(result.findings).toEqual([]);
    expect(result.summary.builds).toBe(3);
  });

  it("tells apart Kustomizations whose names share a prefix", async () => {
    const named = (name: string) =>
      appsKustomization(`./${name}`).replace("name: apps", `name: ${name}`);
    const result = await validateFiles({
      "clusters/dev/flux.yaml": clusterRoot("dev"),
      "clusters/dev/apps.yaml": appsKustomization("./apps/demo"),
      // Annotations make kustomize build the folder, so objects are mapped
      // back to their documents by kind and name.
      "apps/demo/kustomization.yaml":
        "commonAnnotations:\n  team: platform\nresources:\n  - infra.yaml\n  - repository.yaml\n",
      "apps/demo/infra.yaml": named("infra") + "---\n" + named("infra-extra"),
      "apps/demo/repository.yaml": HELM_REPOSITORY,
      "infra/kustomization.yaml": "resources:\n  - release.yaml\n",
      "infra/release.yaml": HELM_RELEASE,
      "infra-extra/kustomization.yaml": "resources:\n  - release.yaml\n",
      "infra-extra/release.yaml": HELM_RELEASE.replace(
        "name: podinfo\n  namespace",
        "name: extra\n  namespace",
      ),
    });
    expect(result.findings).toEqual([]);
    expect(result.summary.builds).toBe(4);
  });

  it("substitutes from the first of two copies of a ConfigMap", async () => {
    const named = (name: string, path: string, extra = "") =>
      appsKustomization(path, extra).replace("name: apps", `name: ${name}`);
    const vars = (replicas: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vars\n  namespace: flux-system\ndata:\n  REPLICAS: "${replicas}"\n`;
    const root = await writeTree({
      "clusters/dev/flux.yaml": clusterRoot("dev"),
      "clusters/dev/apps.yaml":
        named("first", "./cfg1") + "---\n" + named("second", "./cfg2"),
      // first also applies the Kustomization that reads the variables, so
      // that build starts after both copies exist.
      "cfg1/vars.yaml": vars("2"),
      "cfg1/web.yaml": named(
        "web",
        "./web",
        "  postBuild:\n    substituteFrom:\n      - kind: ConfigMap\n        name: vars\n",
      ),
      "cfg2/vars.yaml": vars("two"),
      "web/deployment.yaml": DEPLOYMENT.replace(
        "replicas: 2",
        "replicas: ${REPLICAS}",
      ),
    });
    try {
      for (const concurrency of [1, 8, 8, 8]) {
        const result = await validate({ root, concurrency });
        expect(result.findings).toEqual([]);
      }
    } finally {
      await removeTree(root);
    }
  });

  it("checks custom resources against their own cluster's CRD", async () => {
    // Cluster b already runs the newer CRD with spec.color; cluster a does not.
    const crd = (extra: string) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names:
    kind: Widget
    plural: widgets
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size:
                  type: integer
${extra}`;
    const widget = `apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
  namespace: default
spec:
  size: 1
  color: blue
`;
    const root = await writeTree({
      "clusters/a/flux.yaml": clusterRoot("a"),
      "clusters/a/apps.yaml": appsKustomization("./apps/a"),
      "clusters/b/flux.yaml": clusterRoot("b"),
      "clusters/b/apps.yaml": appsKustomization("./apps/b"),
      "apps/a/crd.yaml": crd(""),
      "apps/a/widget.yaml": widget,
      "apps/b/crd.yaml": crd(
        "                color:\n                  type: string\n",
      ),
      "apps/b/widget.yaml": widget,
    });
    try {
      for (const concurrency of [1, 8, 8, 8]) {
        const result = await validate({ root, concurrency });
        expect(
          result.findings.map((finding) => `${finding.rule} ${finding.file}`),
        ).toEqual(["schema-unknown-field apps/a/widget.yaml"]);
      }
    } finally {
      await removeTree(root);
    }
  });

  it("keeps nested cluster folders apart", async () => {
    const result = await validateFiles({
      "clusters/prod/eu/flux.yaml": clusterRoot("prod/eu"),
      "clusters/prod/eu/apps.yaml": appsKustomization("./apps/eu"),
      "clusters/prod/us/flux.yaml": clusterRoot("prod/us"),
      "clusters/prod/us/apps.yaml": appsKustomization("./apps/us"),
      "apps/eu/repository.yaml": HELM_REPOSITORY,
      "apps/eu/release.yaml": HELM_RELEASE,
      "apps/us/release.yaml": HELM_RELEASE,
    });
    expect(errorRules(result)).toEqual(["reference-missing"]);
    expect(result.findings[0]!.message).toContain("in cluster prod/us");
  });

  it("reads substituteFrom only from the same cluster", async () => {
    const vars = (replicas: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-vars\n  namespace: flux-system\ndata:\n${replicas}`;
    const substituteFrom =
      "  postBuild:\n    substituteFrom:\n      - kind: ConfigMap\n        name: cluster-vars\n";
    const result = await validateFiles({
      "clusters/dev/flux.yaml": clusterRoot("dev"),
      "clusters/dev/vars.yaml": vars('  REPLICAS: "2"\n'),
      "clusters/dev/apps.yaml": appsKustomization("./apps", substituteFrom),
      "clusters/prod/flux.yaml": clusterRoot("prod"),
      "clusters/prod/vars.yaml": vars('  REGION: "us-east-1"\n'),
      "clusters/prod/apps.yaml": appsKustomization("./apps", substituteFrom),
      "apps/deployment.yaml": DEPLOYMENT.replace(
        "replicas: 2",
        "replicas: ${REPLICAS}",
      ),
    });
    expect(errorRules(result)).toEqual(["flux-substitute-undefined"]);
  });

  it("does not build a Kustomization of another repository", async () => {
    const podinfo = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 1m
  url: https://github.com/stefanprodan/podinfo
  ref:
    branch: master
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 10m
  path: ./kustomize
  prune: true
  sourceRef:
    kind: GitRepository
    name: podinfo
`;
    const result = await validateFiles({
      "clusters/test/flux.yaml": clusterRoot("test"),
      "clusters/test/podinfo.yaml": podinfo,
    });
    expect(result.findings).toEqual([]);
    expect(result.skipped.map((entry) => entry.reason).join(" ")).toContain(
      "another repository",
    );
  });
});

describe("validate follows kustomize-controller", () => {
  it("reports two objects with one id in a folder without kustomization.yaml", async () => {
    const result = await validateFiles({
      ...base,
      "apps/copy.yaml": DEPLOYMENT,
    });
    expect(errorRules(result)).toEqual(["kustomize-build"]);
  });

  it("reports two objects with one id in a kustomization that lists files", async () => {
    const result = await validateFiles({
      ...base,
      "apps/kustomization.yaml":
        "resources:\n  - deployment.yaml\n  - copy.yaml\n",
      "apps/copy.yaml": DEPLOYMENT,
    });
    expect(errorRules(result)).toEqual(["kustomize-build"]);
    expect(result.findings[0]!.file).toBe("apps/copy.yaml");
  });

  it("reads a kustomization that lists files like kustomize does", async () => {
    const result = await validateFiles({
      ...base,
      "apps/kustomization.yaml":
        "resources:\n  - repository.yaml\n  - release.yaml\n  - nested\n",
      "apps/nested/kustomization.yaml": "resources:\n  - deployment.yaml\n",
      "apps/nested/deployment.yaml": DEPLOYMENT.replace(
        "replicas: 2",
        "replicas: two",
      ),
      "apps/deployment.yaml": "",
    });
    expect(errorRules(result)).toEqual(["schema"]);
    expect(result.findings[0]!.file).toBe("apps/nested/deployment.yaml");
    expect(result.findings[0]!.line).toBe(7);
  });

  it("finds a Kustomization whose kind is spelt with an escape", async () => {
    // Files are only parsed early when their text may name a Kustomization.
    const entry = FLUX_ENTRY.replace(
      "kind: Kustomization",
      'kind: "Kustomi\\x7Aation"',
    ).replace(
      "  prune: true",
      '  prune: true\n  postBuild:\n    substitute:\n      REPLICAS: "3"',
    );
    expect(entry).not.toContain("Kustomization");
    const result = await validateFiles({
      ...base,
      "clusters/test/flux.yaml": entry,
      "apps/deployment.yaml": DEPLOYMENT.replace(
        "replicas: 2",
        "replicas: ${REPLICAS}",
      ),
    });
    expect(result.findings).toEqual([]);
    expect(result.summary.validated).toBe(result.summary.objects);
  });

  it("does not substitute inside comments", async () => {
    const entry = FLUX_ENTRY.replace(
      "  prune: true",
      '  prune: true\n  postBuild:\n    substitute:\n      CLUSTER: "test"',
    );
    const result = await validateFiles({
      ...base,
      "clusters/test/flux.yaml": entry,
      "apps/deployment.yaml": "# Set ${GREETING} before use.\n" + DEPLOYMENT,
    });
    expect(result.findings).toEqual([]);
  });

  it("applies YAML merge keys", async () => {
    const merged = `apiVersion: v1
kind: ConfigMap
metadata:
  name: merged
  namespace: default
data:
  <<: {a: "1"}
  b: "2"
`;
    const result = await validateFiles({ ...base, "apps/merged.yaml": merged });
    expect(result.findings).toEqual([]);
  });

  it("accepts resource quantities written as numbers", async () => {
    const result = await validateFiles({
      ...base,
      "apps/deployment.yaml": DEPLOYMENT.replace(
        "          image: nginx:1.27.3",
        "          image: nginx:1.27.3\n          resources:\n            requests:\n              cpu: 1\n              memory: 512Mi",
      ),
    });
    expect(result.findings).toEqual([]);
  });

  it("treats a SOPS Secret's values as unknown for substitution", async () => {
    const secret = `apiVersion: v1
kind: Secret
metadata:
  name: cluster-secrets
  namespace: flux-system
stringData:
  REPLICAS: ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]
sops:
  mac: ENC[AES256_GCM,data:xyz,type:str]
  version: 3.9.0
`;
    const result = await validateFiles({
      "clusters/test/flux.yaml": clusterRoot(
        "test",
        "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n",
      ),
      "clusters/test/secret.yaml": secret,
      "clusters/test/apps.yaml": appsKustomization(
        "./apps",
        "  postBuild:\n    substituteFrom:\n      - kind: Secret\n        name: cluster-secrets\n",
      ),
      "apps/deployment.yaml": DEPLOYMENT.replace(
        "replicas: 2",
        "replicas: ${REPLICAS}",
      ),
    });
    expect(result.findings).toEqual([]);
  });
});

describe("validate on bad kinds and data", () => {
  it("reports a misspelt built-in kind", async () => {
    const result = await validateFiles({
      ...base,
      "apps/config.yaml":
        "apiVersion: v1\nkind: Configmap\nmetadata:\n  name: c\n  namespace: default\n",
    });
    expect(errorRules(result)).toEqual(["kind-unknown"]);
    expect(result.findings[0]!.fix).toContain("ConfigMap");
  });

  it("names the current version of a removed built-in one", async () => {
    const ingress = `apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: web
  namespace: default
spec: {}
`;
    const result = await validateFiles({
      ...base,
      "apps/ingress.yaml": ingress,
    });
    expect(errorRules(result)).toEqual(["api-version-removed"]);
    expect(result.findings[0]!.fix).toContain("networking.k8s.io/v1");
  });

  it("reports Secret data that is not base64 without showing it", async () => {
    const secret =
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: default\ndata:\n  token: TOPSECRET-NOT-BASE64!!\n";
    const result = await validateFiles({ ...base, "apps/secret.yaml": secret });
    expect(errorRules(result)).toContain("schema");
    for (const finding of result.findings)
      expect(finding.message).not.toContain("TOPSECRET");
  });

  it("reports a file that is not UTF-8", async () => {
    const root = await writeTree(base);
    try {
      await writeFile(
        path.join(root, "apps/latin1.yaml"),
        Buffer.from([0x6b, 0x3a, 0x20, 0x63, 0x61, 0x66, 0xe9, 0x0a]),
      );
      const result = await validate({ root });
      expect(
        result.findings.map((finding) => `${finding.rule} ${finding.file}`),
      ).toContain("yaml-syntax apps/latin1.yaml");
    } finally {
      await removeTree(root);
    }
  });

  it("skips a named pipe and a dangling link without waiting on them", async () => {
    const root = await writeTree(base);
    try {
      // git lists untracked links; a folder walk would skip them anyway.
      execFileSync("git", ["init", "-q", root]);
      execFileSync("mkfifo", [path.join(root, "apps/pipe")]);
      await symlink("pipe", path.join(root, "apps/pipe.yaml"));
      await symlink("missing.yaml", path.join(root, "apps/dangling.yaml"));
      // In a child process, so a blocking open fails the test, not the run.
      const outcome = runValidateCommand([root, "--format", "json"]);
      expect(outcome.status).toBe(0);
      const report = JSON.parse(outcome.stdout) as {
        summary: { files: number };
      };
      expect(report.summary.files).toBe(Object.keys(base).length);
    } finally {
      await removeTree(root);
    }
  });

  it("walks a folder outside git whatever git's language", async () => {
    const root = await writeTree(base);
    try {
      const outcome = runValidateCommand([root], {
        LANGUAGE: "de",
        LC_ALL: "C.UTF-8",
      });
      expect(outcome.stderr).not.toContain("git cannot list");
      expect(outcome.status).toBe(0);
    } finally {
      await removeTree(root);
    }
  });

  it("exits 2 when git cannot list the files", async () => {
    const root = await writeTree(base);
    try {
      execFileSync("git", ["init", "-q", root]);
      execFileSync("git", ["-C", root, "add", "-A"]);
      // A damaged index makes git fail for a reason other than "not a
      // repository", as "dubious ownership" does in CI containers.
      await writeFile(path.join(root, ".git/index"), "not an index");
      const outcome = runValidateCommand([root]);
      expect(outcome.status).toBe(2);
      expect(outcome.stderr).toContain("git cannot list the files");
    } finally {
      await removeTree(root);
    }
  });

  it("exits 2 on a folder without YAML files", async () => {
    const root = await writeTree({ "README.md": "nothing here\n" });
    try {
      const outcome = runValidateCommand([root]);
      expect(outcome.status).toBe(2);
      expect(outcome.stderr).toContain("no YAML files found");
    } finally {
      await removeTree(root);
    }
  });
});
