import { describe, expect, it } from "vitest";
import {
  DEPLOYMENT,
  FLUX_ENTRY,
  HELM_RELEASE,
  HELM_REPOSITORY,
  errorRules,
  validateFiles,
} from "./fixture.js";

const base = {
  "clusters/test/flux.yaml": FLUX_ENTRY,
  "apps/repository.yaml": HELM_REPOSITORY,
  "apps/release.yaml": HELM_RELEASE,
  "apps/deployment.yaml": DEPLOYMENT,
};

describe("validate on a small Flux tree", () => {
  it("passes a clean tree", async () => {
    const result = await validateFiles(base);
    expect(result.findings).toEqual([]);
    expect(result.summary.objects).toBe(5);
    expect(result.summary.validated).toBe(5);
  });

  it("reads a tree without Flux objects as one folder", async () => {
    const result = await validateFiles({ "deploy.yaml": DEPLOYMENT });
    expect(result.findings).toEqual([]);
    expect(result.summary.validated).toBe(1);
  });
});

describe("schema checks", () => {
  it("rejects an unknown field with a suggestion", async () => {
    const result = await validateFiles({
      ...base,
      "apps/deployment.yaml": DEPLOYMENT.replace(
        "  replicas: 2",
        "  replica: 2",
      ),
    });
    expect(errorRules(result)).toEqual(["schema-unknown-field"]);
    const finding = result.findings[0]!;
    expect(finding.file).toBe("apps/deployment.yaml");
    expect(finding.line).toBe(7);
    expect(finding.message).toContain('did you mean "replicas"');
  });

  it("rejects a wrong type", async () => {
    const result = await validateFiles({
      ...base,
      "apps/deployment.yaml": DEPLOYMENT.replace(
        "replicas: 2",
        "replicas: two",
      ),
    });
    expect(errorRules(result)).toEqual(["schema"]);
    expect(result.findings[0]!.message).toContain("must be an integer");
  });

  it("rejects an interval that is not a duration", async () => {
    const result = await validateFiles({
      ...base,
      "apps/release.yaml": HELM_RELEASE.replace(
        "interval: 10m",
        "interval: 5 minutes",
      ),
    });
    expect(errorRules(result)).toEqual(["flux-duration"]);
    expect(result.findings[0]!.line).toBe(7);
    expect(result.findings[0]!.fix).toContain("Go duration");
  });

  it("names the current version for a removed API version", async () => {
    const result = await validateFiles({
      ...base,
      "apps/release.yaml": HELM_RELEASE.replace(
        "helm.toolkit.fluxcd.io/v2",
        "helm.toolkit.fluxcd.io/v2beta1",
      ),
    });
    expect(errorRules(result)).toEqual(["api-version-removed"]);
    expect(result.findings[0]!.fix).toContain("helm.toolkit.fluxcd.io/v2");
  });

  it("lists an object without a schema as skipped", async () => {
    const custom =
      "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 3\n";
    const result = await validateFiles({ ...base, "apps/widget.yaml": custom });
    expect(result.findings).toEqual([]);
    expect(result.summary.validated).toBe(5);
    expect(result.skipped.map((entry) => entry.resource)).toEqual(["Widget/w"]);
  });

  it("checks a custom resource against a CRD in the tree", async () => {
    const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            spec:
              type: object
              properties:
                size: {type: integer}
`;
    const good =
      "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 3\n";
    const clean = await validateFiles({
      ...base,
      "apps/crd.yaml": crd,
      "apps/widget.yaml": good,
    });
    expect(clean.findings).toEqual([]);
    const bad = await validateFiles({
      ...base,
      "apps/crd.yaml": crd,
      "apps/widget.yaml": good.replace("size: 3", "sise: 3"),
    });
    expect(errorRules(bad)).toEqual(["schema-unknown-field"]);
  });
});

describe("Flux server-side rules", () => {
  it("rejects a HelmRelease with both chart and chartRef", async () => {
    const both = HELM_RELEASE.replace(
      "  values:",
      "  chartRef:\n    kind: OCIRepository\n    name: podinfo\n  values:",
    );
    const result = await validateFiles({ ...base, "apps/release.yaml": both });
    expect(errorRules(result)).toContain("helmrelease-chart-source");
  });

  it("rejects an unquoted integer substitute value", async () => {
    const entry = FLUX_ENTRY.replace(
      "  prune: true",
      "  prune: true\n  postBuild:\n    substitute:\n      REPLICAS: 3",
    );
    const result = await validateFiles({
      ...base,
      "clusters/test/flux.yaml": entry,
    });
    expect(errorRules(result)).toEqual(["flux-substitute-string"]);
    expect(result.findings[0]!.fix).toContain('REPLICAS: "3"');
  });
});

describe("post-build substitution", () => {
  const withVariables = FLUX_ENTRY.replace(
    "  prune: true",
    '  prune: true\n  postBuild:\n    substitute:\n      CLUSTER: "test"',
  );

  it("substitutes a default before the schema check", async () => {
    const result = await validateFiles({
      ...base,
      "clusters/test/flux.yaml": withVariables,
      "apps/deployment.yaml": DEPLOYMENT.replace(
        "replicas: 2",
        "replicas: ${REPLICAS:=3}",
      ),
    });
    expect(result.findings).toEqual([]);
  });

  it("reports an undefined variable without a default", async () => {
    const result = await validateFiles({
      ...base,
      "clusters/test/flux.yaml": withVariables,
      "apps/deployment.yaml": DEPLOYMENT.replace(
        "image: nginx:1.27.3",
        "image: nginx:${TAG}",
      ),
    });
    expect(errorRules(result)).toEqual(["flux-substitute-undefined"]);
    expect(result.findings[0]!.line).toBe(18);
  });

  it("leaves expressions alone without postBuild", async () => {
    const result = await validateFiles({
      ...base,
      "apps/deployment.yaml": DEPLOYMENT.replace(
        "image: nginx:1.27.3",
        "image: nginx:${TAG}",
      ),
    });
    expect(result.findings).toEqual([]);
  });

  it("keeps escaped expressions literal", async () => {
    const result = await validateFiles({
      ...base,
      "clusters/test/flux.yaml": withVariables,
      "apps/config.yaml":
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: default\ndata:\n  script: echo $${HOME}\n",
    });
    expect(result.findings).toEqual([]);
  });
});

describe("SOPS-encrypted Secrets", () => {
  const secret = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: default
stringData:
  dsn: ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]
sops:
  age:
    - recipient: age1example
      enc: |
        -----BEGIN AGE ENCRYPTED FILE-----
        -----END AGE ENCRYPTED FILE-----
  lastmodified: "2026-01-01T00:00:00Z"
  mac: ENC[AES256_GCM,data:xyz,type:str]
  version: 3.9.0
`;

  it("accepts one under a Kustomization that decrypts", async () => {
    const entry = FLUX_ENTRY.replace(
      "  prune: true",
      "  prune: true\n  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age",
    );
    const result = await validateFiles({
      ...base,
      "clusters/test/flux.yaml": entry,
      "apps/secret.yaml": secret,
    });
    expect(result.findings).toEqual([]);
  });

  it("rejects one under a Kustomization that does not decrypt", async () => {
    const result = await validateFiles({ ...base, "apps/secret.yaml": secret });
    expect(errorRules(result)).toEqual(["sops-without-decryption"]);
  });
});

describe("reference checks", () => {
  it("reports a Kustomization path that does not exist", async () => {
    const result = await validateFiles({
      ...base,
      "clusters/test/flux.yaml": FLUX_ENTRY.replace(
        "path: ./apps",
        "path: ./apps-missing",
      ),
    });
    expect(errorRules(result)).toEqual(["flux-path-missing"]);
    expect(result.findings[0]!.file).toBe("clusters/test/flux.yaml");
    expect(result.findings[0]!.line).toBe(19);
  });

  it("reports a sourceRef to a missing HelmRepository", async () => {
    const result = await validateFiles({
      ...base,
      "apps/release.yaml": HELM_RELEASE.replace(
        "name: podinfo\n  values",
        "name: podinfo\n  values",
      ).replace("        name: podinfo", "        name: podinfo-charts"),
    });
    expect(errorRules(result)).toEqual(["reference-missing"]);
    expect(result.findings[0]!.message).toContain(
      "HelmRepository flux-system/podinfo-charts",
    );
  });

  it("reports a valuesFrom Secret that nothing creates", async () => {
    const release = HELM_RELEASE.replace(
      "  values:",
      "  valuesFrom:\n    - kind: Secret\n      name: podinfo-values\n  values:",
    );
    const result = await validateFiles({
      ...base,
      "apps/release.yaml": release,
    });
    expect(errorRules(result)).toEqual(["reference-missing"]);
  });

  it("accepts an optional valuesFrom Secret", async () => {
    const release = HELM_RELEASE.replace(
      "  values:",
      "  valuesFrom:\n    - kind: Secret\n      name: podinfo-values\n      optional: true\n  values:",
    );
    const result = await validateFiles({
      ...base,
      "apps/release.yaml": release,
    });
    expect(result.findings).toEqual([]);
  });

  it("reports a dependsOn on a missing Kustomization", async () => {
    const entry = FLUX_ENTRY.replace(
      "  prune: true",
      "  prune: true\n  dependsOn:\n    - name: infrastructure",
    );
    const result = await validateFiles({
      ...base,
      "clusters/test/flux.yaml": entry,
    });
    expect(errorRules(result)).toEqual(["reference-missing"]);
  });

  it("reports a file a kustomization.yaml lists that is missing", async () => {
    const result = await validateFiles({
      ...base,
      "apps/kustomization.yaml":
        "resources:\n  - repository.yaml\n  - release.yaml\n  - deployment.yaml\n  - service.yaml\n",
    });
    const rules = errorRules(result);
    expect(rules).toContain("kustomization-entry-missing");
    const finding = result.findings.find(
      (candidate) => candidate.rule === "kustomization-entry-missing",
    )!;
    expect(finding.file).toBe("apps/kustomization.yaml");
    expect(finding.line).toBe(5);
  });
});

describe("kustomize builds", () => {
  it("maps a value set by a patch to the patch file", async () => {
    const result = await validateFiles({
      "clusters/test/flux.yaml": FLUX_ENTRY.replace(
        "path: ./apps",
        "path: ./overlay",
      ),
      "base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
      "base/deployment.yaml": DEPLOYMENT,
      "overlay/kustomization.yaml":
        "resources:\n  - ../base\npatches:\n  - path: replicas.yaml\n",
      "overlay/replicas.yaml":
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\nspec:\n  replicas: many\n",
    });
    expect(errorRules(result)).toEqual(["schema"]);
    expect(result.findings[0]!.file).toBe("overlay/replicas.yaml");
    expect(result.findings[0]!.line).toBe(7);
  });

  it("maps a value from a base to the base file", async () => {
    const result = await validateFiles({
      "clusters/test/flux.yaml": FLUX_ENTRY.replace(
        "path: ./apps",
        "path: ./overlay",
      ),
      "base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
      "base/deployment.yaml": DEPLOYMENT.replace(
        "image: nginx:1.27.3",
        "image: 5",
      ),
      "overlay/kustomization.yaml": "resources:\n  - ../base\n",
    });
    expect(errorRules(result)).toEqual(["schema"]);
    expect(result.findings[0]!.file).toBe("base/deployment.yaml");
    expect(result.findings[0]!.line).toBe(18);
  });

  it("reports a non-Kubernetes file in a path without kustomization.yaml", async () => {
    const result = await validateFiles({
      ...base,
      "apps/notes.yaml": "owner: platform-team\n",
    });
    expect(errorRules(result)).toEqual(["flux-build"]);
  });

  it("reports a failing kustomize build", async () => {
    const result = await validateFiles({
      ...base,
      "apps/kustomization.yaml":
        "resources:\n  - repository.yaml\n  - release.yaml\n  - deployment.yaml\npatches:\n  - path: missing-patch.yaml\n",
    });
    expect(errorRules(result)).toContain("kustomize-build");
  });
});

describe("data size check", () => {
  const configMap = (bytes: number) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  namespace: default\ndata:\n  blob: ${"x".repeat(bytes)}\n`;

  it("accepts a ConfigMap of exactly 1 MiB", async () => {
    const result = await validateFiles({
      ...base,
      "apps/big.yaml": configMap(1024 * 1024),
    });
    expect(result.findings).toEqual([]);
  });

  it("rejects a ConfigMap one byte over 1 MiB", async () => {
    const result = await validateFiles({
      ...base,
      "apps/big.yaml": configMap(1024 * 1024 + 1),
    });
    expect(errorRules(result)).toEqual(["data-too-large"]);
    expect(result.findings[0]!.file).toBe("apps/big.yaml");
  });

  it("counts a Secret's base64 data decoded", async () => {
    // 1.2 MiB of base64 text encodes 0.9 MiB of data, under the limit.
    const encoded = Buffer.alloc(900 * 1024, 1).toString("base64");
    const result = await validateFiles({
      ...base,
      "apps/secret.yaml": `apiVersion: v1\nkind: Secret\nmetadata:\n  name: big\n  namespace: default\ndata:\n  blob: ${encoded}\n`,
    });
    expect(errorRules(result)).not.toContain("data-too-large");
  });
});
