import { randomBytes, randomUUID } from "node:crypto";
import {
  healthRoutes,
  paginate,
  type RecordedRequest,
  type StandInResponse,
} from "./server.js";

/** An OAuth2 client as the Hydra stand-in stores it. */
export interface StoredClient {
  client_id: string;
  client_secret: string;
  client_name: string;
  owner: string;
  grant_types: string[];
  token_endpoint_auth_method: string;
  metadata: unknown;
  created_at: string;
}

/** Where the stand-ins copy what they store, e.g. a PostgreSQL database. */
export interface HydraMirror {
  clientCreated(client: StoredClient): Promise<void>;
  clientDeleted(id: string): Promise<void>;
  tokenIssued(signature: string, clientId: string): Promise<void>;
}

export interface HydraState {
  clients: Map<string, StoredClient>;
  /** Issued access tokens and the client each belongs to. */
  tokens: Map<string, string>;
}

/**
 * Hydra's admin API after its documented contract: POST /admin/clients
 * (201 with client_id and client_secret), GET and DELETE
 * /admin/clients/{id}, GET /admin/clients filtered by client_name and
 * owner with Link pagination, and POST /admin/oauth2/introspect (form).
 */
export function hydraAdmin(
  state: HydraState,
  mirror: HydraMirror | undefined,
  notReady: () => Record<string, string> | undefined,
) {
  return async (
    request: RecordedRequest,
  ): Promise<StandInResponse | undefined> => {
    const health = healthRoutes(request, notReady(), "v26.2.0");
    if (health) return health;
    const byId = /^\/admin\/clients\/([^/]+)$/.exec(request.path);

    if (request.path === "/admin/clients" && request.method === "POST") {
      const body = request.body as Partial<StoredClient> | undefined;
      if (!body || !Array.isArray(body.grant_types)) {
        return hydraError(
          400,
          "invalid_request",
          "The request body must be a JSON client with grant_types.",
        );
      }
      const client: StoredClient = {
        client_id: randomUUID(),
        client_secret: randomBytes(24).toString("base64url"),
        client_name: String(body.client_name ?? ""),
        owner: String(body.owner ?? ""),
        grant_types: body.grant_types,
        token_endpoint_auth_method:
          body.token_endpoint_auth_method ?? "client_secret_basic",
        metadata: body.metadata ?? {},
        created_at: new Date().toISOString(),
      };
      state.clients.set(client.client_id, client);
      await mirror?.clientCreated(client);
      return { status: 201, json: client };
    }
    if (request.path === "/admin/clients" && request.method === "GET") {
      const { client_name, owner } = request.query;
      const matching = [...state.clients.values()]
        .filter((client) => !client_name || client.client_name === client_name)
        .filter((client) => !owner || client.owner === owner)
        .map(withoutSecret);
      const { page, headers } = paginate(matching, request, 250);
      return { status: 200, json: page, headers };
    }
    if (byId && request.method === "GET") {
      const client = state.clients.get(decodeURIComponent(byId[1]!));
      return client
        ? { status: 200, json: withoutSecret(client) }
        : hydraError(
            404,
            "Unable to locate the resource",
            "The requested OAuth 2.0 Client does not exist.",
          );
    }
    if (byId && request.method === "DELETE") {
      const id = decodeURIComponent(byId[1]!);
      if (!state.clients.delete(id)) {
        return hydraError(
          404,
          "Unable to locate the resource",
          "The requested OAuth 2.0 Client does not exist.",
        );
      }
      for (const [token, clientId] of state.tokens) {
        if (clientId === id) state.tokens.delete(token);
      }
      await mirror?.clientDeleted(id);
      return { status: 204 };
    }
    if (
      request.path === "/admin/oauth2/introspect" &&
      request.method === "POST"
    ) {
      const token = (request.body as { token?: string } | undefined)?.token;
      if (!token) {
        return hydraError(
          400,
          "invalid_request",
          "The POST body must contain token.",
        );
      }
      const clientId = state.tokens.get(token);
      return {
        status: 200,
        json: clientId
          ? {
              active: true,
              client_id: clientId,
              sub: clientId,
              token_type: "Bearer",
              token_use: "access_token",
            }
          : { active: false },
      };
    }
    return undefined;
  };
}

/**
 * Hydra's public API: POST /oauth2/token with grant_type=client_credentials
 * and HTTP Basic client authentication (form-encoded id and secret).
 */
export function hydraPublic(
  state: HydraState,
  mirror: HydraMirror | undefined,
  notReady: () => Record<string, string> | undefined,
) {
  return async (
    request: RecordedRequest,
  ): Promise<StandInResponse | undefined> => {
    const health = healthRoutes(request, notReady(), "v26.2.0");
    if (health) return health;
    if (request.path !== "/oauth2/token" || request.method !== "POST") {
      return undefined;
    }
    const form = request.body as Record<string, string> | undefined;
    if (typeof form !== "object" || form.grant_type !== "client_credentials") {
      return hydraError(
        400,
        "unsupported_grant_type",
        "The authorization server does not support this grant type.",
      );
    }
    const authorization = String(request.headers.authorization ?? "");
    const [scheme, encoded] = authorization.split(" ");
    const decoded = Buffer.from(encoded ?? "", "base64").toString("utf8");
    const separator = decoded.indexOf(":");
    const id = decodeURIComponent(decoded.slice(0, separator));
    const secret = decodeURIComponent(decoded.slice(separator + 1));
    const client = state.clients.get(id);
    if (
      scheme !== "Basic" ||
      separator < 0 ||
      !client ||
      client.client_secret !== secret ||
      !client.grant_types.includes("client_credentials")
    ) {
      return hydraError(401, "invalid_client", "Client authentication failed.");
    }
    const token = `ory_at_${randomBytes(24).toString("base64url")}`;
    state.tokens.set(token, id);
    await mirror?.tokenIssued(token.split("_").pop()!, id);
    return {
      status: 200,
      json: {
        access_token: token,
        expires_in: 3599,
        scope: "",
        token_type: "bearer",
      },
    };
  };
}

function withoutSecret(
  client: StoredClient,
): Omit<StoredClient, "client_secret"> {
  const { client_secret: _secret, ...rest } = client;
  return rest;
}

/** Hydra's OAuth2 error form: `{error, error_description}`. */
function hydraError(
  status: number,
  error: string,
  description: string,
): StandInResponse {
  return { status, json: { error, error_description: description } };
}
