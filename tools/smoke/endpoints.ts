import {
  environmentFile,
  type EndpointName,
  type Environment,
} from "../lib/environment.js";
import { ToolError, UsageError } from "../lib/errors.js";
import type { Logger } from "../lib/log.js";
import type { ResolvedEndpoint } from "./http.js";
import type {
  ServicePortForward,
  ServicePortReference,
} from "./port-forward.js";

/** The variables operators already export, by endpoint. */
export const ENDPOINT_VARIABLES: Record<EndpointName, string> = {
  hydraPublic: "HYDRA_PUBLIC_URL",
  hydraAdmin: "HYDRA_ADMIN_URL",
  kratosPublic: "KRATOS_PUBLIC_URL",
  kratosAdmin: "KRATOS_ADMIN_URL",
  ketoRead: "KETO_READ_REMOTE",
  ketoWrite: "KETO_WRITE_REMOTE",
};

/** Opens a port-forward to one Service port. */
export type PortForwarder = (
  target: ServicePortReference,
) => Promise<ServicePortForward>;

/**
 * Parses an endpoint variable's value: an http(s) URL, or for the Keto
 * variables also Keto's own `host:port` form, which means plain HTTP.
 * Returns the URL without a trailing slash.
 */
export function parseEndpointValue(variable: string, value: string): string {
  const text = value.trim();
  const hostPort = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
  const candidate = hostPort.test(text) ? `http://${text}` : text;
  let url: URL;
  try {
    url = new URL(candidate);
  } catch (error) {
    throw new UsageError(
      `${variable} is not a URL or host:port (${redactUrl(text)}); set it like https://auth.example.com or, for Keto, keto-read.ory:4466`,
      { cause: error },
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(
      `${variable} uses the scheme "${url.protocol}"; use http:// or https://`,
    );
  }
  rejectCredentials(variable, candidate);
  if (url.search || url.hash) {
    throw new UsageError(
      `${variable} (${redactUrl(text)}) has a query or fragment; give only the API's base URL`,
    );
  }
  return candidate.replace(/\/+$/, "");
}

/**
 * Throws a UsageError when the URL has a user or password. fetch rejects
 * such URLs and quotes them, password included, in its error, and the Ory
 * APIs take no Basic credentials anyway.
 */
function rejectCredentials(origin: string, text: string): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not a URL: the caller reports that.
    return;
  }
  if (url.username === "" && url.password === "") return;
  throw new UsageError(
    `${origin} (${redactUrl(text)}): credentials in a URL are not supported; remove the user and password, and reach the API through a network path that needs none`,
  );
}

/** Returns a URL with any user info removed, for messages. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    url.username = "";
    url.password = "";
    return url.toString().replace(/\/$/, "");
  } catch {
    return text.replace(/\/\/[^/@]*@/, "//");
  }
}

export interface OpenedEndpoints {
  endpoints: Partial<Record<EndpointName, ResolvedEndpoint>>;
  close(): Promise<void>;
}

/**
 * Resolves each endpoint in `names`: its exported variable wins, then the
 * model's URL, then a port-forward to its Service through the Kubernetes
 * API. `createForwarder` is called only when a port-forward is needed.
 * Throws a UsageError (exit 2) when an endpoint has no URL and the cluster
 * cannot be reached to forward one.
 */
export async function openEndpoints(
  environment: Environment,
  names: EndpointName[],
  variables: Record<string, string | undefined>,
  createForwarder: () => PortForwarder,
  logger: Logger,
): Promise<OpenedEndpoints> {
  const endpoints: Partial<Record<EndpointName, ResolvedEndpoint>> = {};
  const needForward: EndpointName[] = [];
  for (const name of names) {
    const variable = ENDPOINT_VARIABLES[name];
    const value = variables[variable];
    const modelUrl = environment.ory.endpoints[name].url;
    if (value) {
      endpoints[name] = {
        url: parseEndpointValue(variable, value),
        source: variable,
      };
    } else if (modelUrl) {
      const origin = `${environmentFile(environment.name)} ory.endpoints.${name}.url`;
      rejectCredentials(origin, modelUrl);
      endpoints[name] = {
        url: modelUrl.replace(/\/+$/, ""),
        source: environmentFile(environment.name),
      };
    } else {
      needForward.push(name);
    }
  }

  const forwards: ServicePortForward[] = [];
  const close = async () => {
    await Promise.all(forwards.map((forward) => forward.close()));
  };
  if (needForward.length === 0) return { endpoints, close };

  const missing = needForward
    .map((name) => `${name} (${ENDPOINT_VARIABLES[name]})`)
    .join(", ");
  let forwarder: PortForwarder;
  try {
    forwarder = createForwarder();
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    throw new UsageError(
      `no endpoint for ${missing}: the variable is not set, ${environmentFile(environment.name)} has url: null, ` +
        `and no port-forward is possible (${error.message}). Export the variables, or give a kubeconfig with context ${environment.clusters.ory}`,
      { cause: error },
    );
  }
  try {
    for (const name of needForward) {
      const { service, port } = environment.ory.endpoints[name];
      const target = { namespace: environment.ory.namespace, service, port };
      const forward = await forwarder(target);
      forwards.push(forward);
      logger.info(
        `${name}: port-forward ${forward.url} -> Service ${target.namespace}/${service}:${port} in context ${environment.clusters.ory}`,
      );
      endpoints[name] = {
        url: forward.url,
        source: `port-forward to Service ${target.namespace}/${service}:${port}`,
        diagnose: () => forward.lastError(),
      };
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { endpoints, close };
}
