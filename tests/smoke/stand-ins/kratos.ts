import { randomBytes, randomUUID } from "node:crypto";
import {
  healthRoutes,
  oryError,
  paginate,
  type RecordedRequest,
  type StandInResponse,
} from "./server.js";

export interface StoredIdentity {
  id: string;
  schema_id: string;
  state: "active";
  traits: { email: string; name?: { first?: string; last?: string } };
  /** Kept to check logins; never returned. */
  password: string;
}

export interface KratosMirror {
  identityCreated(identity: StoredIdentity): Promise<void>;
  identityDeleted(id: string): Promise<void>;
}

export interface KratosState {
  flows: Map<string, "registration" | "login">;
  identities: Map<string, StoredIdentity>;
  /** Session tokens and the session they belong to. */
  sessions: Map<string, { id: string; identityId: string; active: boolean }>;
}

export interface KratosOptions {
  /**
   * Whether the session hook runs after password registration. Kratos
   * returns a session token from an API-flow registration only then.
   */
  registrationSessionHook: boolean;
}

/**
 * Kratos's public API after its documented contract: API flows for
 * registration and login (GET /self-service/{kind}/api, then POST
 * /self-service/{kind}?flow=ID), GET /sessions/whoami with X-Session-Token
 * (200 or 401), and DELETE /self-service/logout/api with the token in the
 * body (204).
 */
export function kratosPublic(
  state: KratosState,
  mirror: KratosMirror | undefined,
  options: KratosOptions,
  notReady: () => Record<string, string> | undefined,
) {
  return async (
    request: RecordedRequest,
  ): Promise<StandInResponse | undefined> => {
    const health = healthRoutes(request, notReady(), "v26.2.0");
    if (health) return health;
    const start = /^\/self-service\/(registration|login)\/api$/.exec(
      request.path,
    );
    if (start && request.method === "GET") {
      const kind = start[1] as "registration" | "login";
      const id = randomUUID();
      state.flows.set(id, kind);
      return { status: 200, json: flowBody(id, kind, []) };
    }
    const submit = /^\/self-service\/(registration|login)$/.exec(request.path);
    if (submit && request.method === "POST") {
      const kind = submit[1] as "registration" | "login";
      const flowId = request.query.flow ?? "";
      if (state.flows.get(flowId) !== kind) {
        return oryError(404, "The flow could not be found.");
      }
      state.flows.delete(flowId);
      const body = (request.body ?? {}) as Record<string, unknown>;
      return kind === "registration"
        ? register(state, mirror, options, flowId, body)
        : login(state, flowId, body);
    }
    if (request.path === "/sessions/whoami" && request.method === "GET") {
      const token = String(request.headers["x-session-token"] ?? "");
      const session = state.sessions.get(token);
      if (!session?.active) {
        return oryError(
          401,
          "No valid session credentials found in the request.",
          "The request could not be authorized",
        );
      }
      return { status: 200, json: sessionBody(state, session) };
    }
    if (
      request.path === "/self-service/logout/api" &&
      request.method === "DELETE"
    ) {
      const token = (request.body as { session_token?: unknown } | undefined)
        ?.session_token;
      const session =
        typeof token === "string" ? state.sessions.get(token) : undefined;
      if (!session) {
        return oryError(
          403,
          "The provided session token does not belong to an active session.",
        );
      }
      session.active = false;
      return { status: 204 };
    }
    return undefined;
  };
}

/**
 * Kratos's admin API: GET /admin/identities (filtered by
 * credentials_identifier, paged with Link) and DELETE
 * /admin/identities/{id} (204, 404 when missing).
 */
export function kratosAdmin(
  state: KratosState,
  mirror: KratosMirror | undefined,
  notReady: () => Record<string, string> | undefined,
) {
  return async (
    request: RecordedRequest,
  ): Promise<StandInResponse | undefined> => {
    const health = healthRoutes(request, notReady(), "v26.2.0");
    if (health) return health;
    if (request.path === "/admin/identities" && request.method === "GET") {
      const identifier = request.query.credentials_identifier;
      const matching = [...state.identities.values()]
        .filter(
          (identity) => !identifier || identity.traits.email === identifier,
        )
        .map(publicIdentity);
      const { page, headers } = paginate(matching, request, 250);
      return { status: 200, json: page, headers };
    }
    const byId = /^\/admin\/identities\/([^/]+)$/.exec(request.path);
    if (byId && request.method === "DELETE") {
      const id = decodeURIComponent(byId[1]!);
      if (!state.identities.delete(id)) {
        return oryError(404, "Unable to locate the resource");
      }
      for (const [token, session] of state.sessions) {
        if (session.identityId === id) state.sessions.delete(token);
      }
      await mirror?.identityDeleted(id);
      return { status: 204 };
    }
    return undefined;
  };
}

async function register(
  state: KratosState,
  mirror: KratosMirror | undefined,
  options: KratosOptions,
  flowId: string,
  body: Record<string, unknown>,
): Promise<StandInResponse> {
  const traits = body.traits as StoredIdentity["traits"] | undefined;
  const password = body.password;
  if (
    body.method !== "password" ||
    typeof password !== "string" ||
    password.length < 8
  ) {
    return {
      status: 400,
      json: flowBody(flowId, "registration", [
        "The password must be at least 8 characters long.",
      ]),
    };
  }

  if (
    typeof traits?.email !== "string" ||
    !/^[^@\s]+@[^@\s]+$/.test(traits.email)
  ) {
    return {
      status: 400,
      json: flowBody(flowId, "registration", ['"email" is not valid "email"']),
    };
  }

  // Kratos stores e-mail identifiers in lower case.
  const email = traits.email.toLowerCase();
  if (
    [...state.identities.values()].some(
      (identity) => identity.traits.email === email,
    )
  ) {
    return {
      status: 400,
      json: flowBody(flowId, "registration", [
        "An account with the same identifier (email, phone, username, ...) exists already.",
      ]),
    };
  }

  const identity: StoredIdentity = {
    id: randomUUID(),
    schema_id: "default",
    state: "active",
    traits: { ...traits, email },
    password,
  };
  state.identities.set(identity.id, identity);
  await mirror?.identityCreated(identity);

  if (!options.registrationSessionHook) {
    return {
      status: 200,
      json: { identity: publicIdentity(identity), continue_with: [] },
    };
  }
  const token = newSession(state, identity.id);
  return {
    status: 200,
    json: {
      identity: publicIdentity(identity),
      session: sessionBody(state, state.sessions.get(token)!),
      session_token: token,
      continue_with: [],
    },
  };
}

function login(
  state: KratosState,
  flowId: string,
  body: Record<string, unknown>,
): StandInResponse {
  const identifier = String(body.identifier ?? "").toLowerCase();
  const identity = [...state.identities.values()].find(
    (candidate) => candidate.traits.email === identifier,
  );
  if (
    body.method !== "password" ||
    !identity ||
    identity.password !== body.password
  ) {
    return {
      status: 400,
      json: flowBody(flowId, "login", [
        "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.",
      ]),
    };
  }
  const token = newSession(state, identity.id);
  return {
    status: 200,
    json: {
      session_token: token,
      session: sessionBody(state, state.sessions.get(token)!),
    },
  };
}

function newSession(state: KratosState, identityId: string): string {
  const token = `ory_st_${randomBytes(24).toString("base64url")}`;
  state.sessions.set(token, { id: randomUUID(), identityId, active: true });
  return token;
}

function sessionBody(
  state: KratosState,
  session: { id: string; identityId: string; active: boolean },
) {
  const identity = state.identities.get(session.identityId);
  return {
    id: session.id,
    active: session.active,
    identity: identity ? publicIdentity(identity) : null,
  };
}

function publicIdentity(identity: StoredIdentity) {
  const { password: _password, ...rest } = identity;
  return rest;
}

/** A flow as Kratos returns it, with UI messages when a submit failed. */
function flowBody(id: string, kind: string, messages: string[]) {
  return {
    id,
    type: "api",
    ui: {
      action: `/self-service/${kind}?flow=${id}`,
      method: "POST",
      messages: messages.map((text) => ({ id: 4000000, text, type: "error" })),
      nodes: [
        {
          type: "input",
          group: "password",
          attributes: { name: "password", type: "password" },
          messages: [],
        },
      ],
    },
  };
}
