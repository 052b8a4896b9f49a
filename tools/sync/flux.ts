import type { KubernetesObject } from "../lib/kubernetes.js";
import { revisionIs, shortSha } from "./revision.js";

/** A status condition as Flux's controllers write it. */
export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

/** A Flux object as read from the API: metadata, spec and status. */
export interface FluxObject extends KubernetesObject {
  metadata: KubernetesObject["metadata"] & { generation?: number };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown> & {
    conditions?: Condition[];
    observedGeneration?: number;
  };
}

/** The Flux kinds sync reads, at the API versions of Flux 2.x. */
export const FLUX_KINDS = {
  GitRepository: "source.toolkit.fluxcd.io/v1",
  Kustomization: "kustomize.toolkit.fluxcd.io/v1",
  HelmRelease: "helm.toolkit.fluxcd.io/v2",
} as const;

export type FluxKind = keyof typeof FLUX_KINDS;

/** Every Flux object of one cluster, read in one poll. */
export interface ClusterSnapshot {
  cluster: string;
  gitRepositories: FluxObject[];
  kustomizations: FluxObject[];
  helmReleases: FluxObject[];
}

/**
 * synced: at the wanted revision and Ready. pending: not yet. failed: Flux
 * gave up on it (Stalled), or it failed to apply the wanted revision, so
 * waiting longer cannot help.
 */
export type Phase = "synced" | "pending" | "failed";

/** One object's progress toward the wanted revision. */
export interface ObjectState {
  cluster: string;
  kind: string;
  namespace: string;
  name: string;
  phase: Phase;
  /** Reason it is pending or failed; empty when synced. */
  detail: string;
  ready?: Condition;
}

export function findCondition(
  object: FluxObject,
  type: string,
): Condition | undefined {
  return object.status?.conditions?.find(
    (condition) => condition.type === type,
  );
}

/** Formats a Ready condition as "Ready=False (Reason): message". */
export function describeReady(condition: Condition | undefined): string {
  if (!condition) return "no Ready condition yet";
  const reason = condition.reason ? ` (${condition.reason})` : "";
  const message = condition.message ? `: ${condition.message}` : "";
  return `Ready=${condition.status}${reason}${message}`;
}

/** Assesses every Flux object of one cluster against `revision`. */
export function assessCluster(
  snapshot: ClusterSnapshot,
  revision: string,
): ObjectState[] {
  if (snapshot.kustomizations.length === 0) {
    return [
      {
        cluster: snapshot.cluster,
        kind: "Kustomization",
        namespace: "",
        name: "*",
        phase: "failed",
        detail:
          "the cluster has no Flux Kustomization; bootstrap Flux in it (npm run bootstrap -- cluster)",
      },
    ];
  }
  const tracked = trackedRepositories(snapshot.kustomizations);
  const states: ObjectState[] = [];
  for (const key of tracked) {
    const repository = snapshot.gitRepositories.find(
      (candidate) => namespacedName(candidate) === key,
    );
    states.push(
      repository
        ? assessGitRepository(snapshot.cluster, repository, revision)
        : missingRepository(snapshot.cluster, key),
    );
  }
  for (const kustomization of snapshot.kustomizations) {
    const fromTracked = tracked.has(sourceKey(kustomization) ?? "");
    states.push(
      assessKustomization(
        snapshot.cluster,
        kustomization,
        fromTracked ? revision : undefined,
      ),
    );
  }
  for (const release of snapshot.helmReleases) {
    states.push(assessHelmRelease(snapshot.cluster, release));
  }
  return states;
}

function namespacedName(object: FluxObject): string {
  return `${object.metadata.namespace ?? ""}/${object.metadata.name}`;
}

/** "namespace/name" of the GitRepository a Kustomization reads, if any. */
function sourceKey(kustomization: FluxObject): string | undefined {
  const reference = kustomization.spec?.sourceRef as
    { kind?: string; name?: string; namespace?: string } | undefined;
  if (reference?.kind !== "GitRepository" || !reference.name) return undefined;
  const namespace = reference.namespace ?? kustomization.metadata.namespace;
  return `${namespace ?? ""}/${reference.name}`;
}

// Only the GitRepositories that Kustomizations apply from must be at the
// revision: another one may track a different repository entirely.
function trackedRepositories(kustomizations: FluxObject[]): Set<string> {
  const keys = new Set<string>();
  for (const kustomization of kustomizations) {
    const key = sourceKey(kustomization);
    if (key) keys.add(key);
  }
  return keys;
}

function baseState(cluster: string, object: FluxObject) {
  return {
    cluster,
    kind: object.kind,
    namespace: object.metadata.namespace ?? "",
    name: object.metadata.name,
    ready: findCondition(object, "Ready"),
  };
}

function missingRepository(cluster: string, key: string): ObjectState {
  const [namespace = "", name = ""] = key.split("/");
  return {
    cluster,
    kind: "GitRepository",
    namespace,
    name,
    phase: "pending",
    detail: "not found, but a Kustomization applies from it",
  };
}

function stalled(object: FluxObject): string | undefined {
  const condition = findCondition(object, "Stalled");
  if (condition?.status !== "True") return undefined;
  return `stalled${condition.reason ? ` (${condition.reason})` : ""}: ${condition.message ?? "no message"}`;
}

function isReconciling(object: FluxObject): boolean {
  return findCondition(object, "Reconciling")?.status === "True";
}

function generationGap(object: FluxObject): string | undefined {
  const generation = object.metadata.generation;
  const observed = object.status?.observedGeneration;
  if (generation === undefined) return undefined;
  if (observed === generation) return undefined;
  return `has not observed generation ${generation} yet (observed ${observed ?? "none"})`;
}

function assessGitRepository(
  cluster: string,
  repository: FluxObject,
  revision: string,
): ObjectState {
  const base = baseState(cluster, repository);
  const gaveUp = stalled(repository);
  if (gaveUp) return { ...base, phase: "failed", detail: gaveUp };
  const artifact = repository.status?.artifact as
    { revision?: string } | undefined;
  if (!revisionIs(artifact?.revision, revision)) {
    return {
      ...base,
      phase: "pending",
      detail: `artifact at ${artifact?.revision ?? "none"}, waiting for ${shortSha(revision)}`,
    };
  }
  return { ...base, phase: "synced", detail: "" };
}

/**
 * Assesses one Kustomization. It is synced at the revision when it has observed its latest
 * spec, attempted and applied that revision, is Ready and is not
 * reconciling. `revision` is undefined for one that applies from another
 * source, which then only needs to be current and Ready.
 */
export function assessKustomization(
  cluster: string,
  kustomization: FluxObject,
  revision: string | undefined,
): ObjectState {
  const base = baseState(cluster, kustomization);
  const ready = base.ready;
  const gaveUp = stalled(kustomization);
  if (gaveUp) return { ...base, phase: "failed", detail: gaveUp };

  const gap = generationGap(kustomization);
  if (gap) return { ...base, phase: "pending", detail: gap };

  const attempted = kustomization.status?.lastAttemptedRevision;
  const applied = kustomization.status?.lastAppliedRevision;
  if (revision && !revisionIs(attempted, revision)) {
    return {
      ...base,
      phase: "pending",
      detail: `last attempted ${String(attempted ?? "none")}, waiting for ${shortSha(revision)}`,
    };
  }
  if (isReconciling(kustomization)) {
    return { ...base, phase: "pending", detail: "reconciling" };
  }
  // It tried the wanted revision and is idle but not Ready: a build or
  // apply error at a fixed revision does not heal without a new commit. A
  // dependency that is not Ready yet is the exception, since it may still be.
  if (ready?.status === "False" && ready.reason !== "DependencyNotReady") {
    return {
      ...base,
      phase: "failed",
      detail: revision
        ? `applying ${shortSha(revision)} failed`
        : "not Ready after its last reconciliation",
    };
  }
  if (revision && !revisionIs(applied, revision)) {
    return {
      ...base,
      phase: "pending",
      detail: `last applied ${String(applied ?? "none")}, waiting for ${shortSha(revision)}`,
    };
  }
  if (ready?.status !== "True") {
    return { ...base, phase: "pending", detail: "not Ready yet" };
  }
  return { ...base, phase: "synced", detail: "" };
}

// A version with any of these is a semver range that helm-controller
// resolves, so it cannot be compared with the chart version it installed.
const RANGE = /[\^~*xX<>=|\s]|^$/;

/**
 * Assesses one HelmRelease. It is synced when it has observed its latest
 * spec, is Ready for that generation and runs the chart version its spec
 * requests. The
 * generation check is what keeps an image-only change from passing on the
 * Ready condition of the previous release.
 */
export function assessHelmRelease(
  cluster: string,
  release: FluxObject,
): ObjectState {
  const base = baseState(cluster, release);
  const ready = base.ready;
  const gaveUp = stalled(release);
  if (gaveUp) return { ...base, phase: "failed", detail: gaveUp };

  const gap = generationGap(release);
  if (gap) return { ...base, phase: "pending", detail: gap };

  const generation = release.metadata.generation;
  const readyGeneration = ready?.observedGeneration;
  if (
    generation !== undefined &&
    readyGeneration !== undefined &&
    readyGeneration !== generation
  ) {
    return {
      ...base,
      phase: "pending",
      detail: `Ready describes generation ${readyGeneration}, not ${generation}`,
    };
  }
  if (isReconciling(release)) {
    return { ...base, phase: "pending", detail: "reconciling" };
  }
  if (ready?.status !== "True") {
    return { ...base, phase: "pending", detail: "not Ready yet" };
  }

  const wanted = (
    release.spec?.chart as { spec?: { version?: unknown } } | undefined
  )?.spec?.version;
  if (typeof wanted === "string" && !RANGE.test(wanted)) {
    const running = installedChartVersion(release);
    if (running !== wanted) {
      return {
        ...base,
        phase: "pending",
        detail: `runs chart ${running ?? "none"}, the manifests ask for ${wanted}`,
      };
    }
  }
  return { ...base, phase: "synced", detail: "" };
}

// helm-controller v2 records releases newest first in status.history, and
// the last chart version it tried in status.lastAttemptedRevision.
function installedChartVersion(release: FluxObject): string | undefined {
  const history = release.status?.history as
    { chartVersion?: string; status?: string }[] | undefined;
  const latest = history?.[0];
  if (latest?.chartVersion) return latest.chartVersion;
  const attempted = release.status?.lastAttemptedRevision;
  return typeof attempted === "string" ? attempted : undefined;
}
