import { describe, expect, it } from "vitest";
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
