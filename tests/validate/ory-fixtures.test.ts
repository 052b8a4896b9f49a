import { describe, expect, it } from "vitest";
import { hasUrlPassword, redactDsn } from "../../tools/validate/ory/dsn.js";
import { compareVersions } from "../../tools/validate/ory/promotion.js";
import { typedSetValue } from "../../tools/validate/ory/values.js";
import { FLUX_ENTRY, validateFiles } from "./fixture.js";

const ORY_REPOSITORY = `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: ory
  namespace: ory
spec:
  interval: 1h
  url: https://k8s.ory.sh/helm/charts
`;

/** A Keto release that passes every production rule when its Secret exists. */
const KETO = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: keto
  namespace: ory
spec:
  interval: 10m
  chart:
    spec:
      chart: keto
      version: 0.62.1
      sourceRef:
        kind: HelmRepository
        name: ory
  values:
    image:
      tag: v26.2.0
    replicaCount: 3
    pdb:
      enabled: true
    secret:
      enabled: false
      nameOverride: keto
    keto:
      automigration:
        enabled: true
      config:
        namespaces:
          - id: 0
            name: documents
    deployment:
      resources:
        requests:
          cpu: 100m
          memory: 128Mi
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: DoNotSchedule
          labelSelector:
            matchLabels:
              app.kubernetes.io/name: keto
`;

const SOPS_SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: keto
  namespace: ory
stringData:
  dsn: ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]
sops:
  lastmodified: "2026-01-01T00:00:00Z"
  mac: ENC[AES256_GCM,data:xyz,type:str]
  version: 3.9.0
`;

const KETO_CHART_SPEC = `  chart:
    spec:
      chart: keto
      version: 0.62.1
      sourceRef:
        kind: HelmRepository
        name: ory
`;

/** KETO reading its chart through spec.chartRef. */
function ketoWithChartRef(kind: string, name: string): string {
  return KETO.replace(
    KETO_CHART_SPEC,
    `  chartRef:\n    kind: ${kind}\n    name: ${name}\n`,
  );
}

const OCI_REPOSITORY = `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: identity-permissions
  namespace: ory
spec:
  interval: 1h
  url: oci://ghcr.io/example/charts/keto
  ref:
    tag: 0.62.1
`;

const HELM_CHART = `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata:
  name: permissions
  namespace: ory
spec:
  interval: 1h
  chart: keto
  version: 0.62.1
  sourceRef:
    kind: HelmRepository
    name: ory
`;

const ENTRY_WITH_SECRETS = FLUX_ENTRY.replace(
  "  prune: true",
  "  prune: true\n  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age",
);

describe("Ory rules in a repository without an environment model", () => {
  it("accept a Keto release whose SOPS Secret shows a dsn key", async () => {
    const result = await validateFiles({
      "clusters/test/flux.yaml": ENTRY_WITH_SECRETS,
      "apps/repository.yaml": ORY_REPOSITORY,
      "apps/keto.yaml": KETO,
      "apps/secret.yaml": SOPS_SECRET,
    });
    expect(result.findings).toEqual([]);
  });

  it("judge a release by the production rules", async () => {
    const result = await validateFiles({
      "clusters/test/flux.yaml": ENTRY_WITH_SECRETS,
      "apps/repository.yaml": ORY_REPOSITORY,
      "apps/keto.yaml": KETO.replace("replicaCount: 3", "replicaCount: 1"),
      "apps/secret.yaml": SOPS_SECRET,
    });
    expect(result.findings.map((finding) => finding.rule)).toEqual([
      "ory-replicas",
    ]);
  });

  it("report a SOPS Secret without the dsn key", async () => {
    const result = await validateFiles({
      "clusters/test/flux.yaml": ENTRY_WITH_SECRETS,
      "apps/repository.yaml": ORY_REPOSITORY,
      "apps/keto.yaml": KETO,
      "apps/secret.yaml": SOPS_SECRET.replace("  dsn: ENC", "  dns: ENC"),
    });
    const rules = [
      ...new Set(result.findings.map((finding) => finding.rule)),
    ].sort();
    expect(rules).toEqual([
      "ory-dsn-deployment",
      "ory-dsn-job",
      "ory-secret-unknown-key",
    ]);
  });

  it("accept a SOPS Secret whose data values are encrypted", async () => {
    const result = await validateFiles({
      "clusters/test/flux.yaml": ENTRY_WITH_SECRETS,
      "apps/repository.yaml": ORY_REPOSITORY,
      "apps/keto.yaml": KETO,
      "apps/secret.yaml": SOPS_SECRET.replace("stringData:", "data:"),
    });
    expect(result.findings).toEqual([]);
  });

  it("recognise a chartRef to an OCIRepository by its URL", async () => {
    const result = await validateFiles({
      "clusters/test/flux.yaml": ENTRY_WITH_SECRETS,
      "apps/repository.yaml": ORY_REPOSITORY,
      "apps/oci.yaml": OCI_REPOSITORY,
      "apps/keto.yaml": ketoWithChartRef(
        "OCIRepository",
        "identity-permissions",
      ).replace("replicaCount: 3", "replicaCount: 1"),
      "apps/secret.yaml": SOPS_SECRET,
    });
    expect(result.findings.map((finding) => finding.rule)).toEqual([
      "ory-replicas",
    ]);
  });

  it("report an OCIRepository chart version range", async () => {
    const result = await validateFiles({
      "clusters/test/flux.yaml": ENTRY_WITH_SECRETS,
      "apps/repository.yaml": ORY_REPOSITORY,
      "apps/oci.yaml": OCI_REPOSITORY.replace("tag: 0.62.1", "semver: 0.62.x"),
      "apps/keto.yaml": ketoWithChartRef(
        "OCIRepository",
        "identity-permissions",
      ),
      "apps/secret.yaml": SOPS_SECRET,
    });
    expect(result.findings.map((finding) => finding.rule)).toEqual([
      "ory-chart-version-exact",
    ]);
    expect(result.findings[0]!.file).toBe("apps/oci.yaml");
    expect(result.findings[0]!.line).toBe(10);
  });

  it("recognise a chartRef to a HelmChart by its chart", async () => {
    const result = await validateFiles({
      "clusters/test/flux.yaml": ENTRY_WITH_SECRETS,
      "apps/repository.yaml": ORY_REPOSITORY,
      "apps/chart.yaml": HELM_CHART,
      "apps/keto.yaml": ketoWithChartRef("HelmChart", "permissions").replace(
        "replicaCount: 3",
        "replicaCount: 1",
      ),
      "apps/secret.yaml": SOPS_SECRET,
    });
    expect(result.findings.map((finding) => finding.rule)).toEqual([
      "ory-replicas",
    ]);
  });

  it("ignore HelmReleases of other charts", async () => {
    const other = KETO.replace("chart: keto", "chart: podinfo").replace(
      "replicaCount: 3",
      "replicaCount: 1",
    );
    const result = await validateFiles({
      "clusters/test/flux.yaml": FLUX_ENTRY,
      "apps/repository.yaml": ORY_REPOSITORY,
      "apps/other.yaml": other,
    });
    expect(result.findings).toEqual([]);
  });
});

describe("migration order", () => {
  const secrets = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: secrets
  namespace: flux-system
spec:
  interval: 10m
  path: ./secrets
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  decryption:
    provider: sops
    secretRef:
      name: sops-age
`;

  it("reports a release that does not wait for its Secret's Kustomization", async () => {
    const result = await validateFiles({
      "clusters/test/flux.yaml": FLUX_ENTRY,
      "clusters/test/secrets.yaml": secrets,
      "secrets/keto.yaml": SOPS_SECRET,
      "apps/repository.yaml": ORY_REPOSITORY,
      "apps/keto.yaml": KETO,
    });
    expect(result.findings.map((finding) => finding.rule)).toEqual([
      "ory-migration-order",
    ]);
    expect(result.findings[0]!.file).toBe("clusters/test/flux.yaml");
  });

  it("accepts a release whose Kustomization depends on it", async () => {
    const result = await validateFiles({
      "clusters/test/flux.yaml": FLUX_ENTRY.replace(
        "  prune: true",
        "  prune: true\n  dependsOn:\n    - name: secrets",
      ),
      "clusters/test/secrets.yaml": secrets,
      "secrets/keto.yaml": SOPS_SECRET,
      "apps/repository.yaml": ORY_REPOSITORY,
      "apps/keto.yaml": KETO,
    });
    expect(result.findings).toEqual([]);
  });
});

describe("redactDsn", () => {
  it("masks a password up to the last @ before the host", () => {
    expect(redactDsn("cockroach://hydra:p@ssS3cret@db:26257/hydra")).toBe(
      "cockroach://hydra:***@db:26257/hydra",
    );
  });

  it("masks a password holding / and #", () => {
    expect(redactDsn("cockroach://hydra:pa/ss#wd@db:26257/hydra")).toBe(
      "cockroach://hydra:***@db:26257/hydra",
    );
  });

  it("masks password query values", () => {
    expect(
      redactDsn("postgres://hydra@db/hydra?sslmode=require&password=s3cret"),
    ).toBe("postgres://hydra@db/hydra?sslmode=require&password=***");
  });

  it("keeps a URL without credentials", () => {
    expect(redactDsn("https://host:443/path?email=a@example.com")).toBe(
      "https://host:443/path?email=a@example.com",
    );
  });
});

describe("hasUrlPassword", () => {
  it("finds a password in the user part", () => {
    expect(hasUrlPassword("smtps://mailer:pw@smtp.example.com:465/")).toBe(
      true,
    );
  });

  it("finds a password query parameter", () => {
    expect(hasUrlPassword("postgres://u@h/db?password=pw")).toBe(true);
  });

  it("ignores a substituted or SOPS-encrypted password", () => {
    expect(hasUrlPassword("postgres://u:${DB_PASSWORD}@h/db")).toBe(false);
    expect(hasUrlPassword("ENC[AES256_GCM,data:abc,type:str]")).toBe(false);
  });

  it("ignores an @ in the query or path", () => {
    expect(hasUrlPassword("https://host:443/x?e=a@example.com")).toBe(false);
    expect(hasUrlPassword("https://registry:8080/@scope/package")).toBe(false);
  });
});

describe("compareVersions", () => {
  it("ranks a pre-release below its release", () => {
    expect(compareVersions("v26.2.0-rc.1", "v26.2.0")).toBe(-1);
    expect(compareVersions("v26.2.0", "v26.2.0-rc.1")).toBe(1);
  });

  it("orders pre-release identifiers as semver does", () => {
    expect(compareVersions("1.0.0-rc.2", "1.0.0-rc.10")).toBe(-1);
    expect(compareVersions("1.0.0-alpha", "1.0.0-alpha.1")).toBe(-1);
    expect(compareVersions("1.0.0-alpha.1", "1.0.0-beta")).toBe(-1);
  });

  it("ignores build metadata and a digest", () => {
    expect(compareVersions("1.0.0+build.5", "1.0.0")).toBe(0);
    const digest = "0123456789abcdef".repeat(4);
    expect(compareVersions(`v26.3.0@sha256:${digest}`, "v26.2.0")).toBe(1);
  });
});

describe("typedSetValue", () => {
  it("types values as helm --set does", () => {
    expect(typedSetValue("3")).toBe(3);
    expect(typedSetValue("0")).toBe(0);
    expect(typedSetValue("TRUE")).toBe(true);
    expect(typedSetValue("false")).toBe(false);
    expect(typedSetValue("null")).toBe(null);
  });

  it("keeps other values strings", () => {
    expect(typedSetValue("007")).toBe("007");
    expect(typedSetValue("1.5")).toBe("1.5");
    expect(typedSetValue("v26.2.0")).toBe("v26.2.0");
  });
});
