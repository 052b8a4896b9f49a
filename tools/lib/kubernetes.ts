import { AsyncLocalStorage } from "node:async_hooks";
import {
  ApiException,
  createConfiguration,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  type RequestContext,
  type ResponseContext,
} from "@kubernetes/client-node";
import {
  EXIT_CANNOT_START,
  EXIT_PROBLEM,
  ToolError,
  UsageError,
} from "./errors.js";

/** The fields every Kubernetes object has that this seam reads or sets. */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}

/** Identifies one object to read. */
export interface ObjectReference {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** Reads and server-side applies objects in one cluster's API. */
export interface KubernetesClient {
  /** The kubeconfig context in use; also the cluster's name in this repo. */
  readonly context: string;
  /** The API server URL from that context. */
  readonly server: string;
  /** The loaded configuration, for port-forwards and typed API clients. */
  readonly kubeConfig: KubeConfig;
  /** Returns the object, or null when the API returns 404. */
  read<T extends KubernetesObject>(
    reference: ObjectReference,
  ): Promise<T | null>;
  /**
   * Sends the object as a server-side apply patch owned by `fieldManager`,
   * taking over fields that another manager owns (force), and returns the
   * object as stored.
   */
  apply<T extends KubernetesObject>(
    object: T,
    fieldManager: string,
  ): Promise<T>;
}

export interface KubernetesClientOptions {
  /** Context to use, e.g. `dev-ory`. */
  context: string;
  /** Kubeconfig file; default KUBECONFIG, then ~/.kube/config. */
  kubeconfigPath?: string;
}

/**
 * Loads the kubeconfig and selects `context`. Throws a UsageError naming the
 * contexts the file contains when that one is missing.
 */
export function loadKubeConfig(options: KubernetesClientOptions): KubeConfig {
  const config = new KubeConfig();
  const source = options.kubeconfigPath ?? "the default kubeconfig";
  try {
    if (options.kubeconfigPath) config.loadFromFile(options.kubeconfigPath);
    else config.loadFromDefault();
  } catch (error) {
    throw new UsageError(`cannot load ${source}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const names = config.getContexts().map((context) => context.name);
  if (!names.includes(options.context)) {
    throw new UsageError(
      `kubeconfig context "${options.context}" not found in ${source} (it has: ${names.join(", ") || "none"}); ` +
        `run "aws eks update-kubeconfig --name ${options.context} --alias ${options.context}" or pass --kubeconfig FILE`,
    );
  }
  config.setCurrentContext(options.context);
  return config;
}

/** Creates a client for the cluster behind `options.context`. */
export function createKubernetesClient(
  options: KubernetesClientOptions,
): KubernetesClient {
  return createKubernetesClientFromConfig(loadKubeConfig(options));
}

/**
 * Creates a client for the current context of a kubeconfig built in memory,
 * e.g. one holding a freshly minted EKS token.
 */
export function createKubernetesClientFromConfig(
  kubeConfig: KubeConfig,
): KubernetesClient {
  const context = kubeConfig.getCurrentContext();
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  const server = kubeConfig.getCurrentCluster()?.server ?? "(no server)";
  const where = `the Kubernetes API of context ${context} (${server})`;

  return {
    context,
    server,
    kubeConfig,
    async read<T extends KubernetesObject>(reference: ObjectReference) {
      const spec = {
        apiVersion: reference.apiVersion,
        kind: reference.kind,
        metadata: { name: reference.name, namespace: reference.namespace },
      };
      try {
        return (await api.read(spec)) as T;
      } catch (error) {
        if (error instanceof ApiException && error.code === 404) return null;
        throw describeKubernetesError(error, `read ${label(reference)}`, where);
      }
    },
    async apply<T extends KubernetesObject>(object: T, fieldManager: string) {
      try {
        return (await api.patch(
          object,
          undefined,
          undefined,
          fieldManager,
          true,
          PatchStrategy.ServerSideApply,
        )) as T;
      } catch (error) {
        const reference = {
          apiVersion: object.apiVersion,
          kind: object.kind,
          name: object.metadata.name,
          namespace: object.metadata.namespace,
        };
        throw describeKubernetesError(
          error,
          `apply ${label(reference)}`,
          where,
        );
      }
    },
  };
}

function label(reference: ObjectReference): string {
  const namespace = reference.namespace ? `${reference.namespace}/` : "";
  return `${reference.kind} ${namespace}${reference.name}`;
}

/**
 * Turns an API or network error into a ToolError: exit 2 when the API
 * cannot be reached or rejects the credentials, exit 1 for anything else.
 * The message never includes the request body, which may hold secret data.
 */
export function describeKubernetesError(
  error: unknown,
  action: string,
  where: string,
): ToolError {
  if (error instanceof ApiException) {
    const status = readStatusMessage(error.body);
    const text = `cannot ${action}: ${where} answered ${error.code}${status ? ` (${status})` : ""}`;
    if (error.code === 401) {
      return new ToolError(
        `${text}; the kubeconfig credentials were rejected: refresh them (aws eks update-kubeconfig) and retry`,
        EXIT_CANNOT_START,
        { cause: error },
      );
    }
    if (error.code === 403) {
      return new ToolError(
        `${text}; the kubeconfig user needs get and patch on that resource`,
        EXIT_CANNOT_START,
        { cause: error },
      );
    }
    if (error.code === 404) {
      return new ToolError(
        `${text}; create the namespace first (Flux creates it on its first sync) and retry`,
        EXIT_CANNOT_START,
        { cause: error },
      );
    }
    return new ToolError(text, EXIT_PROBLEM, { cause: error });
  }
  const code = (error as { code?: string })?.code;
  const message = (error as Error)?.message ?? String(error);
  if (code) {
    return new ToolError(
      `cannot ${action}: ${where} cannot be reached (${code}); check the network path to the API server and that the cluster exists`,
      EXIT_CANNOT_START,
      { cause: error },
    );
  }
  return new ToolError(
    `cannot ${action} through ${where}: ${message}`,
    EXIT_CANNOT_START,
    { cause: error },
  );
}

function readStatusMessage(body: unknown): string | undefined {
  if (typeof body === "string") {
    try {
      return readStatusMessage(JSON.parse(body));
    } catch {
      return body.slice(0, 200) || undefined;
    }
  }
  const message = (body as { message?: unknown })?.message;
  return typeof message === "string" ? message : undefined;
}

/** Identifies one kind of object to list, in one namespace or in all. */
export interface ListReference {
  apiVersion: string;
  kind: string;
  /** Namespace to list in; every namespace when unset. */
  namespace?: string;
}

// One object API per kubeconfig, so discovery of each API group is cached
// across the polls of a long wait instead of repeated for every list.
const objectApis = new WeakMap<KubeConfig, KubernetesObjectApi>();

/** Abort signal of the listObjects call whose requests run in this context. */
const requestSignal = new AsyncLocalStorage<AbortSignal>();

/**
 * Creates an object API like KubeConfig.makeApiClient does, plus a
 * middleware that hands each request the caller's abort signal. The
 * client's list method takes no signal of its own, and a per-call API
 * would repeat discovery on every poll. It has no default namespace, which
 * only reads and writes use; a list without a namespace spans all of them.
 */
function makeObjectApi(kubeConfig: KubeConfig): KubernetesObjectApi {
  const server = kubeConfig.getCurrentCluster()?.server ?? "";
  return new KubernetesObjectApi(
    createConfiguration({
      baseServer: new ServerConfiguration(server, {}),
      authMethods: { default: kubeConfig },
      promiseMiddleware: [
        {
          pre: async (context: RequestContext) => {
            const signal = requestSignal.getStore();
            if (signal) context.setSignal(signal);
            return context;
          },
          post: async (response: ResponseContext) => response,
        },
      ],
    }),
  );
}

/**
 * Lists the objects of one kind, following `continue` tokens so no page is
 * missed. Throws a ToolError with exit 2 when the cluster does not serve the
 * kind (its CustomResourceDefinition is not installed) or cannot be reached,
 * and exit 1 for any other error the API returns. Aborting `signal` closes
 * the requests still in flight.
 */
export async function listObjects<T extends KubernetesObject>(
  client: KubernetesClient,
  reference: ListReference,
  signal?: AbortSignal,
): Promise<T[]> {
  if (signal) {
    // Requests started inside run() read the signal in the middleware.
    return requestSignal.run(signal, () => listObjects<T>(client, reference));
  }
  let api = objectApis.get(client.kubeConfig);
  if (!api) {
    api = makeObjectApi(client.kubeConfig);
    objectApis.set(client.kubeConfig, api);
  }
  const where = `the Kubernetes API of context ${client.context} (${client.server})`;
  const items: T[] = [];
  let continueToken: string | undefined;
  do {
    let page;
    try {
      page = await api.list(
        reference.apiVersion,
        reference.kind,
        reference.namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        500,
        continueToken,
      );
    } catch (error) {
      throw describeListError(error, reference, where);
    }
    items.push(...(page.items as T[]));
    // Kinds without a generated model keep the wire name `continue`.
    const metadata = page.metadata as
      { continue?: string; _continue?: string } | undefined;
    continueToken = metadata?._continue || metadata?.continue || undefined;
  } while (continueToken);
  return items;
}

function describeListError(
  error: unknown,
  reference: ListReference,
  where: string,
): ToolError {
  const notServed =
    (error instanceof ApiException && error.code === 404) ||
    /Unrecognized API version and kind/.test((error as Error)?.message ?? "");
  if (notServed) {
    return new ToolError(
      `cannot list ${reference.kind}: ${where} does not serve ${reference.apiVersion} ${reference.kind}; ` +
        `install Flux in that cluster (npm run bootstrap -- cluster) or check that the context points at the right cluster`,
      EXIT_CANNOT_START,
      { cause: error },
    );
  }
  const namespace = reference.namespace ? ` in ${reference.namespace}` : "";
  return describeKubernetesError(
    error,
    `list ${reference.kind}${namespace}`,
    where,
  );
}
