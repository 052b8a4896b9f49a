import { writeFile } from "node:fs/promises";
import { stringify } from "yaml";
import {
  startKubernetesApiStandIn,
  type KubernetesApiStandIn,
  type RecordedRequest,
  type StoredObject,
} from "../stand-ins/kubernetes-api.js";

export const OLD_SHA = "1111111111111111111111111111111111111111";
export const NEW_SHA = "2222222222222222222222222222222222222222";

const TOKEN = "sync-test-token";

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

function ready(
  status: "True" | "False" | "Unknown",
  reason: string,
  message: string,
  observedGeneration?: number,
): Condition {
  return {
    type: "Ready",
    status,
    reason,
    message,
    ...(observedGeneration === undefined ? {} : { observedGeneration }),
  };
}

export function gitRepository(revision: string): StoredObject {
  return {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: { name: "flux-system", namespace: "flux-system", generation: 1 },
    spec: { ref: { branch: "main" }, url: "https://example.invalid/repo" },
    status: {
      observedGeneration: 1,
      artifact: { revision: `main@sha1:${revision}` },
      conditions: [
        ready(
          "True",
          "Succeeded",
          `stored artifact for revision 'main@sha1:${revision}'`,
        ),
      ],
    },
  };
}

export function kustomization(
  name: string,
  revision: string,
  overrides: {
    attempted?: string;
    generation?: number;
    observedGeneration?: number;
    conditions?: Condition[];
  } = {},
): StoredObject {
  const generation = overrides.generation ?? 1;
  return {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name, namespace: "flux-system", generation },
    spec: {
      path: `./${name}`,
      sourceRef: { kind: "GitRepository", name: "flux-system" },
    },
    status: {
      observedGeneration: overrides.observedGeneration ?? generation,
      lastAppliedRevision: `main@sha1:${revision}`,
      lastAttemptedRevision: `main@sha1:${overrides.attempted ?? revision}`,
      conditions: overrides.conditions ?? [
        ready(
          "True",
          "ReconciliationSucceeded",
          `Applied revision: main@sha1:${revision}`,
        ),
      ],
    },
  };
}

export function helmRelease(
  name: string,
  namespace: string,
  overrides: {
    chart?: string;
    installedChart?: string;
    generation?: number;
    observedGeneration?: number;
    conditions?: Condition[];
  } = {},
): StoredObject {
  const generation = overrides.generation ?? 2;
  const observed = overrides.observedGeneration ?? generation;
  const chart = overrides.chart ?? "0.62.1";
  return {
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: { name, namespace, generation },
    spec: { chart: { spec: { chart: name, version: chart } } },
    status: {
      observedGeneration: observed,
      lastAttemptedGeneration: observed,
      history: [
        { chartName: name, chartVersion: overrides.installedChart ?? chart },
      ],
      conditions: overrides.conditions ?? [
        ready(
          "True",
          "UpgradeSucceeded",
          `Helm upgrade succeeded for release ${namespace}/${name}`,
          observed,
        ),
      ],
    },
  };
}

/** Returns the Flux objects of a dev-ory cluster fully synced at `revision`. */
export function oryObjects(revision: string): StoredObject[] {
  return [
    gitRepository(revision),
    kustomization("flux-system", revision),
    kustomization("ory", revision),
    helmRelease("hydra", "ory"),
    helmRelease("kratos", "ory"),
    helmRelease("keto", "ory"),
  ];
}

/** Returns the Flux objects of a dev-crdb cluster fully synced at `revision`. */
export function crdbObjects(revision: string): StoredObject[] {
  return [
    gitRepository(revision),
    kustomization("flux-system", revision),
    kustomization("crdb", revision),
    helmRelease("cockroachdb", "cockroachdb", { chart: "21.0.0" }),
  ];
}

export { ready };

export interface Clusters {
  ory: KubernetesApiStandIn;
  crdb: KubernetesApiStandIn;
  kubeconfig: string;
  close(): Promise<void>;
}

/**
 * Starts one Kubernetes API stand-in per cluster of `environment` and
 * writes a kubeconfig at `kubeconfig` with a context named after each.
 */
export async function startClusters(
  environment: string,
  kubeconfig: string,
  objects: { ory: StoredObject[]; crdb: StoredObject[] },
  onRequest?: {
    ory?: (r: RecordedRequest) => void;
    crdb?: (r: RecordedRequest) => void;
  },
): Promise<Clusters> {
  const ory = await startKubernetesApiStandIn({
    token: TOKEN,
    objects: objects.ory,
    ...(onRequest?.ory ? { onRequest: onRequest.ory } : {}),
  });
  const crdb = await startKubernetesApiStandIn({
    token: TOKEN,
    objects: objects.crdb,
    ...(onRequest?.crdb ? { onRequest: onRequest.crdb } : {}),
  });
  const entries = [
    { name: `${environment}-ory`, url: ory.url },
    { name: `${environment}-crdb`, url: crdb.url },
  ];
  const config = {
    apiVersion: "v1",
    kind: "Config",
    // client-node refuses plain HTTP unless TLS checks are off.
    clusters: entries.map((entry) => ({
      name: entry.name,
      cluster: { server: entry.url, "insecure-skip-tls-verify": true },
    })),
    users: [{ name: "stand-in", user: { token: TOKEN } }],
    contexts: entries.map((entry) => ({
      name: entry.name,
      context: { cluster: entry.name, user: "stand-in" },
    })),
    "current-context": entries[0]?.name,
  };
  await writeFile(kubeconfig, stringify(config));
  return {
    ory,
    crdb,
    kubeconfig,
    // A test may have closed one already to make it unreachable.
    close: async () => {
      await ory.close().catch(() => undefined);
      await crdb.close().catch(() => undefined);
    },
  };
}

/** Counts list requests for one plural, e.g. "kustomizations". */
export function isList(request: RecordedRequest, plural: string): boolean {
  return request.method === "GET" && request.path.endsWith(`/${plural}`);
}
