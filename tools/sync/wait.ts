import { EXIT_CANNOT_START, EXIT_PROBLEM, ToolError } from "../lib/errors.js";
import {
  createKubernetesClient,
  listObjects,
  type KubernetesClient,
} from "../lib/kubernetes.js";
import type { Logger } from "../lib/log.js";
import { formatDuration } from "./duration.js";
import {
  assessCluster,
  FLUX_KINDS,
  type ClusterSnapshot,
  type FluxKind,
  type FluxObject,
  type ObjectState,
} from "./flux.js";
import { shortSha } from "./revision.js";

/** Reads Flux objects from one cluster; tests point it at a stand-in API. */
export interface FluxReader {
  /** The cluster's name, which is also its kubeconfig context. */
  readonly cluster: string;
  /** Lists every object of `kind`; aborting `signal` closes the request. */
  list(kind: FluxKind, signal?: AbortSignal): Promise<FluxObject[]>;
  /** Reads one object, or returns null when it does not exist. */
  read(
    kind: FluxKind,
    namespace: string,
    name: string,
  ): Promise<FluxObject | null>;
}

/** Creates a reader for the cluster behind kubeconfig context `cluster`. */
export function connectToCluster(
  cluster: string,
  kubeconfigPath: string | undefined,
): FluxReader {
  const client = createKubernetesClient({
    context: cluster,
    ...(kubeconfigPath ? { kubeconfigPath } : {}),
  });
  return readerFromClient(cluster, client);
}

export function readerFromClient(
  cluster: string,
  client: KubernetesClient,
): FluxReader {
  return {
    cluster,
    list: (kind, signal) =>
      listObjects<FluxObject>(
        client,
        { apiVersion: FLUX_KINDS[kind], kind },
        signal,
      ),
    read: (kind, namespace, name) =>
      client.read<FluxObject>({
        apiVersion: FLUX_KINDS[kind],
        kind,
        namespace,
        name,
      }),
  };
}

export async function readSnapshot(
  reader: FluxReader,
  signal?: AbortSignal,
): Promise<ClusterSnapshot> {
  const [gitRepositories, kustomizations, helmReleases] = await Promise.all([
    reader.list("GitRepository", signal),
    reader.list("Kustomization", signal),
    reader.list("HelmRelease", signal),
  ]);
  return {
    cluster: reader.cluster,
    gitRepositories,
    kustomizations,
    helmReleases,
  };
}

export type SyncOutcome = "synced" | "failed" | "timed-out";

export interface SyncResult {
  environment: string;
  revision: string;
  outcome: SyncOutcome;
  elapsedMs: number;
  objects: ObjectState[];
}

export interface WaitOptions {
  environment: string;
  revision: string;
  timeoutMs: number;
  intervalMs: number;
}

export interface WaitSeams {
  readers: FluxReader[];
  logger: Logger;
  now?: () => number;
  sleep?: (milliseconds: number) => Promise<void>;
}

// Consecutive failed polls tolerated after the first good one: an API
// server that blinks during a rolling update should not end a long wait.
const MAX_FAILED_POLLS = 3;

// Longest wait for one cluster's requests of a poll (they run in parallel),
// so an API server that accepts connections but never responds costs one
// poll, not the whole wait. The remaining --timeout caps it further.
const REQUEST_TIMEOUT_MS = 30_000;

// Progress repeats at least this often even when nothing changed, so a
// person watching a CI log sees the wait is alive.
const PROGRESS_EVERY_MS = 60_000;

/**
 * Polls every cluster until all Flux objects are synced at the revision,
 * one fails, or the timeout passes. Errors of the first poll propagate
 * (an unreachable cluster is exit 2); later ones are retried a few times.
 */
export async function waitForSync(
  options: WaitOptions,
  seams: WaitSeams,
): Promise<SyncResult> {
  const now = seams.now ?? Date.now;
  const sleep =
    seams.sleep ??
    ((milliseconds: number) =>
      new Promise<void>((resolve) => setTimeout(resolve, milliseconds)));
  const started = now();
  const { logger } = seams;
  let lastStates: ObjectState[] = [];
  let lastProgress = "";
  let lastProgressAt = -Infinity;
  let failedPolls = 0;
  let polled = false;

  logger.info(
    `waiting for ${options.environment} (${seams.readers.map((reader) => reader.cluster).join(", ")}) to sync ${shortSha(options.revision)}, timeout ${formatDuration(options.timeoutMs)}`,
  );
  for (;;) {
    try {
      const remainingMs = options.timeoutMs - (now() - started);
      const limitMs = Math.max(1, Math.min(REQUEST_TIMEOUT_MS, remainingMs));
      const snapshots = await Promise.all(
        seams.readers.map((reader) =>
          withTimeout(
            (signal) => readSnapshot(reader, signal),
            limitMs,
            reader.cluster,
            polled,
          ),
        ),
      );
      lastStates = snapshots.flatMap((snapshot) =>
        assessCluster(snapshot, options.revision),
      );
      polled = true;
      failedPolls = 0;
    } catch (error) {
      if (!polled || !(error instanceof ToolError)) throw error;
      failedPolls += 1;
      if (failedPolls > MAX_FAILED_POLLS) throw error;
      logger.warn(
        `poll failed (${failedPolls} of ${MAX_FAILED_POLLS} tolerated): ${error.message}`,
      );
    }

    const elapsedMs = now() - started;
    const result = (outcome: SyncOutcome): SyncResult => ({
      environment: options.environment,
      revision: options.revision,
      outcome,
      elapsedMs,
      objects: lastStates,
    });
    const failed = lastStates.filter((state) => state.phase === "failed");
    const pending = lastStates.filter((state) => state.phase === "pending");
    if (failedPolls === 0 && failed.length > 0) return result("failed");
    if (failedPolls === 0 && pending.length === 0) return result("synced");
    if (elapsedMs >= options.timeoutMs) return result("timed-out");

    const progress = pending.map(describeState).join("; ");
    if (
      progress !== lastProgress ||
      elapsedMs - lastProgressAt >= PROGRESS_EVERY_MS
    ) {
      logger.info(
        `${formatDuration(elapsedMs)} elapsed, ${pending.length} of ${lastStates.length} objects pending: ${progress}`,
      );
      lastProgress = progress;
      lastProgressAt = elapsedMs;
    }
    await sleep(Math.min(options.intervalMs, options.timeoutMs - elapsedMs));
  }
}

/**
 * Runs `request` and rejects with a ToolError when it has not settled after
 * `milliseconds`, aborting the signal it was given so its connections close:
 * exit 2 while no poll has returned yet, because the cluster may be
 * unreachable, else exit 1.
 */
function withTimeout<T>(
  request: (signal: AbortSignal) => Promise<T>,
  milliseconds: number,
  cluster: string,
  answeredBefore: boolean,
): Promise<T> {
  const controller = new AbortController();
  const promise = request(controller.signal);
  // The aborted request rejects after the timeout has; that rejection must
  // not surface as an unhandled one.
  promise.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      const message = `the Kubernetes API of context ${cluster} did not respond within ${formatDuration(milliseconds)}`;
      reject(
        answeredBefore
          ? new ToolError(`${message}; it responded earlier`, EXIT_PROBLEM)
          : new ToolError(
              `${message} and has not responded to any request; check the network path to the API server and that it is healthy`,
              EXIT_CANNOT_START,
            ),
      );
    }, milliseconds);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** "dev-ory Kustomization flux-system/ory (reconciling)" */
export function describeState(state: ObjectState): string {
  const where = state.namespace ? `${state.namespace}/` : "";
  const detail = state.detail ? ` (${state.detail})` : "";
  return `${state.cluster} ${state.kind} ${where}${state.name}${detail}`;
}
