import type { EndpointName } from "../../../tools/lib/environment.js";
import {
  hydraAdmin,
  hydraPublic,
  type HydraMirror,
  type HydraState,
  type StoredClient,
} from "./hydra.js";
import {
  ketoRead,
  ketoWrite,
  type KetoMirror,
  type KetoState,
  type Tuple,
} from "./keto.js";
import {
  kratosAdmin,
  kratosPublic,
  type KratosMirror,
  type KratosState,
} from "./kratos.js";
import {
  startApiServer,
  type ApiServer,
  type RecordedRequest,
  type RouteHandler,
} from "./server.js";

export type { RecordedRequest } from "./server.js";

/** Which API each endpoint is, as the request log names it. */
export const API_NAMES: Record<EndpointName, string> = {
  hydraPublic: "hydra public",
  hydraAdmin: "hydra admin",
  kratosPublic: "kratos public",
  kratosAdmin: "kratos admin",
  ketoRead: "keto read",
  ketoWrite: "keto write",
};

export interface OryStandInOptions {
  /** Delay in ms before every response. */
  latencyMs?: number;
  /** Replaces the normal response, e.g. to inject a failure or hang. */
  override?: RouteHandler;
  /** Error map that /health/ready returns with 503, by endpoint. */
  notReady?: Partial<Record<EndpointName, Record<string, string>>>;
  /** Namespaces configured in Keto (default: documents). */
  ketoNamespaces?: string[];
  /** Whether Kratos issues a session at registration (default: true). */
  registrationSessionHook?: boolean;
  mirror?: HydraMirror & KratosMirror & KetoMirror;
  /** Data provisioned for read-only runs. */
  fixtures?: {
    hydraClient?: { id: string; secret: string };
    ketoTuples?: Tuple[];
  };
}

export interface OryStandIns {
  /** Every request to any of the six APIs, in arrival order. */
  requests: RecordedRequest[];
  urls: Record<EndpointName, string>;
  hydra: HydraState;
  kratos: KratosState;
  keto: KetoState;
  /** Changes the 503 error maps while the stand-ins run. */
  notReady: Partial<Record<EndpointName, Record<string, string>>>;
  /** The endpoint variables that point the command at these stand-ins. */
  variables(): Record<string, string>;
  close(): Promise<void>;
}

/** Starts Hydra, Kratos and Keto stand-ins, two APIs each, on 127.0.0.1. */
export async function startOryStandIns(
  options: OryStandInOptions = {},
): Promise<OryStandIns> {
  const requests: RecordedRequest[] = [];
  const shared = {
    log: requests,
    latencyMs: options.latencyMs ?? 0,
    override: options.override,
  };
  const notReady = { ...options.notReady };
  const readiness = (name: EndpointName) => () => notReady[name];
  const hydra: HydraState = { clients: new Map(), tokens: new Map() };
  const kratos: KratosState = {
    flows: new Map(),
    identities: new Map(),
    sessions: new Map(),
  };
  const keto: KetoState = {
    namespaces: new Set(options.ketoNamespaces ?? ["documents"]),
    tuples: [...(options.fixtures?.ketoTuples ?? [])],
  };
  const fixtureClient = options.fixtures?.hydraClient;
  if (fixtureClient) {
    const client: StoredClient = {
      client_id: fixtureClient.id,
      client_secret: fixtureClient.secret,
      client_name: "ory-smoke read-only fixture",
      owner: "",
      grant_types: ["client_credentials"],
      token_endpoint_auth_method: "client_secret_basic",
      metadata: {},
      created_at: new Date(0).toISOString(),
    };
    hydra.clients.set(client.client_id, client);
  }
  const mirror = options.mirror;
  const handlers: Record<EndpointName, RouteHandler> = {
    hydraPublic: hydraPublic(hydra, mirror, readiness("hydraPublic")),
    hydraAdmin: hydraAdmin(hydra, mirror, readiness("hydraAdmin")),
    kratosPublic: kratosPublic(
      kratos,
      mirror,
      { registrationSessionHook: options.registrationSessionHook ?? true },
      readiness("kratosPublic"),
    ),
    kratosAdmin: kratosAdmin(kratos, mirror, readiness("kratosAdmin")),
    ketoRead: ketoRead(keto, readiness("ketoRead")),
    ketoWrite: ketoWrite(keto, mirror, readiness("ketoWrite")),
  };

  const servers: Partial<Record<EndpointName, ApiServer>> = {};
  for (const name of Object.keys(handlers) as EndpointName[]) {
    servers[name] = await startApiServer(
      API_NAMES[name],
      handlers[name],
      shared,
    );
  }
  const urls = Object.fromEntries(
    Object.entries(servers).map(([name, server]) => [name, server!.url]),
  ) as Record<EndpointName, string>;

  return {
    requests,
    urls,
    hydra,
    kratos,
    keto,
    notReady,
    variables: () => ({
      HYDRA_PUBLIC_URL: urls.hydraPublic,
      HYDRA_ADMIN_URL: urls.hydraAdmin,
      KRATOS_PUBLIC_URL: urls.kratosPublic,
      KRATOS_ADMIN_URL: urls.kratosAdmin,
      // Keto's own host:port form, which the command must accept.
      KETO_READ_REMOTE: urls.ketoRead.replace("http://", ""),
      KETO_WRITE_REMOTE: urls.ketoWrite.replace("http://", ""),
    }),
    close: async () => {
      await Promise.all(
        Object.values(servers).map((server) => server!.close()),
      );
    },
  };
}

/** Counts what the stand-ins still store that a run created. */
export function leftovers(standIns: OryStandIns, prefix = "ory-smoke-2") {
  return {
    clients: [...standIns.hydra.clients.values()].filter((client) =>
      client.owner.startsWith(prefix),
    ).length,
    identities: [...standIns.kratos.identities.values()].filter((identity) =>
      identity.traits.email.startsWith(prefix),
    ).length,
    tuples: standIns.keto.tuples.filter((tuple) =>
      tuple.object.startsWith(prefix),
    ).length,
  };
}
