import {
  EXIT_CANNOT_START,
  EXIT_PROBLEM,
  ToolError,
  UsageError,
} from "../../tools/lib/errors.js";
import type {
  KubernetesClient,
  KubernetesObject,
} from "../../tools/lib/kubernetes.js";
import type { Logger } from "../../tools/lib/log.js";
import {
  gitCredentialsSecret,
  TOKEN_VARIABLE,
  type GitCredentials,
} from "./git-credentials.js";
import {
  readComponents,
  type FluxCli,
  type Manifest,
  type SyncManifests,
} from "./flux-manifests.js";
import {
  conditionOf,
  describeCondition,
  isCurrent,
  readyCondition,
  reference,
  type Condition,
} from "./flux-status.js";
import { formatDuration } from "./wait.js";

/** Field manager of every object this command applies. */
export const FIELD_MANAGER = "bootstrap-cluster";

/** Timing of the hand-over, in milliseconds. */
export interface FluxSettings {
  pollInterval: number;
  /** Maximum wait for the CRDs to be Established. */
  crdTimeout: number;
  /** Maximum wait for the root Kustomization to be Ready. */
  readyTimeout: number;
  /** Interval between progress lines while nothing changes. */
  progressInterval: number;
}

/**
 * The first sync clones the repository and applies every overlay, which
 * takes a few minutes; ten minutes leaves room for image pulls on new nodes.
 */
export const DEFAULT_FLUX_SETTINGS: FluxSettings = {
  pollInterval: 5_000,
  crdTimeout: 2 * 60_000,
  readyTimeout: 10 * 60_000,
  progressInterval: 30_000,
};

export interface FluxContext {
  repoRoot: string;
  cluster: string;
  sync: SyncManifests;
  /** Already checked against the GitRepository URL by the caller. */
  credentials: GitCredentials | null;
  cli: FluxCli;
  /** Returns a client with a token that is still valid. */
  connect: () => Promise<KubernetesClient>;
  logger: Logger;
  settings: FluxSettings;
  now: () => number;
  sleep: (milliseconds: number) => Promise<void>;
}

export interface FluxResult {
  /** installed: this run installed Flux; present: it was already there. */
  outcome: "installed" | "present";
  /** Source of the components; absent when Flux was present. */
  components?: string;
  /** Outcome for the Git credentials Secret. */
  secret: "applied" | "kept" | "not needed" | "untouched";
  /** The root Kustomization's Ready message. */
  message: string;
}

const KUSTOMIZATION_CRD = "kustomizations.kustomize.toolkit.fluxcd.io";

/**
 * Hands the cluster to Flux: installs the components, creates the Git
 * credentials Secret, applies the sync objects, and waits until the root
 * Kustomization is Ready. A cluster whose root Kustomization exists is left
 * as it is.
 */
export async function handOverToFlux(
  context: FluxContext,
): Promise<FluxResult> {
  const { logger, sync } = context;
  const existing = await readRootKustomization(context);
  if (existing) {
    logger.info(
      `Flux already runs on ${context.cluster}; leaving its objects as they are`,
    );
    // A rerun after a timed-out first sync lands here, so it waits again,
    // reading only.
    let ready = readyCondition(existing);
    if (ready?.status !== "True") ready = await waitUntilReady(context);
    return {
      outcome: "present",
      secret: "untouched",
      message: ready.message ?? "",
    };
  }

  const secretName = sync.gitRepository.spec.secretRef?.name;
  const components = await readComponents(
    context.repoRoot,
    context.cluster,
    context.cli,
  );
  logger.info(
    `installing Flux on ${context.cluster} from ${components.source}`,
  );
  await installComponents(context, components.objects);

  const secret = await applyGitSecret(context, secretName);
  for (const object of sync.objects) await apply(context, object);
  logger.info(`applied ${sync.objects.length} sync objects from ${sync.file}`);

  const ready = await waitUntilReady(context);
  return {
    outcome: "installed",
    components: components.source,
    secret,
    message: ready.message ?? "",
  };
}

async function readRootKustomization(
  context: FluxContext,
): Promise<Manifest | null> {
  const client = await context.connect();
  try {
    // Reading a Kustomization before its CRD exists fails discovery, so
    // the CRD is checked first.
    const crd = await client.read({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      name: KUSTOMIZATION_CRD,
    });
    if (!crd) return null;
    return await client.read<Manifest>(reference(context.sync.root));
  } catch (error) {
    throw explainAccessDenied(error, context.cluster);
  }
}

/**
 * Replaces a 401 or 403 on the first request with the fix for a missing
 * EKS access entry: 401 means the cluster does not know the AWS identity,
 * 403 that the identity may not read.
 */
function explainAccessDenied(error: unknown, cluster: string): unknown {
  const code = ((error as Error)?.cause as { code?: unknown } | undefined)
    ?.code;
  if (!(error instanceof ToolError) || (code !== 401 && code !== 403))
    return error;
  return new ToolError(
    `the Kubernetes API of ${cluster} returned ${code} to this AWS identity. Give its IAM role or user cluster-admin through an EKS access entry ` +
      `(aws eks create-access-entry --cluster-name ${cluster} --principal-arn ROLE_ARN, then aws eks associate-access-policy --cluster-name ${cluster} ` +
      `--principal-arn ROLE_ARN --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy --access-scope type=cluster), or run as the identity that created the cluster`,
    EXIT_CANNOT_START,
    { cause: error },
  );
}

/**
 * Applies namespaces and CRDs first, waits until the API serves the CRDs,
 * then applies the controllers, so nothing refers to a kind that is not
 * there yet.
 */
async function installComponents(
  context: FluxContext,
  objects: Manifest[],
): Promise<void> {
  const first = objects.filter(
    (object) =>
      object.kind === "Namespace" || object.kind === "CustomResourceDefinition",
  );
  const rest = objects.filter((object) => !first.includes(object));
  for (const object of first) await apply(context, object);

  const crds = first.filter(
    (object) => object.kind === "CustomResourceDefinition",
  );
  await waitForCrds(context, crds);
  for (const object of rest) await apply(context, object);
  context.logger.info(`applied ${objects.length} Flux component objects`);
}

async function waitForCrds(
  context: FluxContext,
  crds: Manifest[],
): Promise<void> {
  const started = context.now();
  const pending = new Set(crds.map((crd) => crd.metadata.name));
  while (pending.size > 0) {
    const client = await context.connect();
    for (const name of [...pending]) {
      const crd = await client.read<Manifest>({
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        name,
      });
      if (crd && conditionOf(crd, "Established")?.status === "True")
        pending.delete(name);
    }
    if (pending.size === 0) return;
    if (context.now() - started > context.settings.crdTimeout) {
      throw new ToolError(
        `timed out after ${formatDuration(context.now() - started)} waiting for the API server to establish ${[...pending].join(", ")}; check the API server's health and run this command again`,
        EXIT_PROBLEM,
      );
    }
    await context.sleep(context.settings.pollInterval);
  }
}

async function applyGitSecret(
  context: FluxContext,
  name: string | undefined,
): Promise<FluxResult["secret"]> {
  if (!name) return "not needed";
  const namespace =
    context.sync.gitRepository.metadata.namespace ?? "flux-system";
  if (context.credentials) {
    const secret = gitCredentialsSecret(context.credentials, name, namespace);
    await apply(context, secret);
    context.logger.info(
      `applied Secret ${namespace}/${name} with the Git credentials from ${context.credentials.source}`,
    );
    return "applied";
  }
  const client = await context.connect();
  const existing = await client.read({
    apiVersion: "v1",
    kind: "Secret",
    name,
    namespace,
  });
  if (existing) {
    context.logger.info(
      `kept the existing Secret ${namespace}/${name}; no Git credentials were given`,
    );
    return "kept";
  }
  throw new UsageError(
    `GitRepository ${namespace}/${context.sync.gitRepository.metadata.name} reads Secret ${name}, which does not exist and no Git credentials were given; ` +
      `set ${TOKEN_VARIABLE} (or --deploy-key FILE for an ssh:// URL) and run this command again`,
  );
}

async function waitUntilReady(context: FluxContext): Promise<Condition> {
  const { logger, settings, sync } = context;
  const root = sync.root.metadata;
  const label = `Kustomization ${root.namespace}/${root.name}`;
  const started = context.now();
  let lastLine = "";
  let lastLogged = started;

  for (;;) {
    const client = await context.connect();
    const object = await client.read<Manifest>(reference(sync.root));
    const ready = object ? readyCondition(object) : undefined;
    if (ready?.status === "True" && isCurrent(object!)) {
      logger.info(
        `${label}: Ready after ${formatDuration(context.now() - started)} (${ready.message ?? ""})`,
      );
      return ready;
    }

    const elapsed = context.now() - started;
    const line = `${label}: ${describeCondition(ready)}`;
    if (
      line !== lastLine ||
      context.now() - lastLogged >= settings.progressInterval
    ) {
      logger.info(`${line}, ${formatDuration(elapsed)} elapsed`);
      lastLine = line;
      lastLogged = context.now();
    }
    if (elapsed > settings.readyTimeout) {
      throw new ToolError(
        `timed out after ${formatDuration(elapsed)} waiting for ${label} to be Ready: ${describeCondition(ready)}. ` +
          `${await describeSource(context)} Run "flux get all -A --context ${context.cluster}" to see why`,
        EXIT_PROBLEM,
      );
    }
    await context.sleep(settings.pollInterval);
  }
}

/**
 * Describes the GitRepository's Ready condition, which names clone and
 * authentication failures.
 */
async function describeSource(context: FluxContext): Promise<string> {
  const repository = context.sync.gitRepository;
  const client = await context.connect();
  const object = await client.read<Manifest>(reference(repository));
  const ready = object ? readyCondition(object) : undefined;
  return `GitRepository ${repository.metadata.namespace}/${repository.metadata.name}: ${describeCondition(ready)}.`;
}

async function apply(
  context: FluxContext,
  object: KubernetesObject,
): Promise<void> {
  const client = await context.connect();
  await client.apply(object, FIELD_MANAGER);
}
