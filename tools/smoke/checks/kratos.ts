import { randomBytes } from "node:crypto";
import { api, sqlSkipReason, type CheckContext } from "../context.js";
import {
  describeBody,
  expectStatus,
  type ApiResponse,
  type OryApi,
} from "../http.js";
import { CheckFailure, type StepDefinition } from "../steps.js";
import { healthStep, versionStep } from "./health.js";
import { deleteIdentities } from "./kratos-identities.js";
import { asArray } from "./pages.js";

/**
 * Domain of the test identities' e-mail addresses. `.invalid` is reserved
 * (RFC 2606), so a verification mail Kratos may send can never be delivered.
 */
export const SMOKE_EMAIL_DOMAIN = "smoke.invalid";

/** Kratos's steps: health, version, then the writing or the read-only chain. */
export function kratosSteps(context: CheckContext): StepDefinition[] {
  const publicApi = api(context, "kratosPublic");
  const admin = api(context, "kratosAdmin");
  const common = [
    healthStep("health: public API", publicApi),
    healthStep("health: admin API", admin),
    versionStep(admin),
  ];
  return common.concat(
    context.readOnly
      ? readOnlySteps(context, admin)
      : writingSteps(context, publicApi, admin),
  );
}

function writingSteps(
  context: CheckContext,
  publicApi: OryApi,
  admin: OryApi,
): StepDefinition[] {
  const email = `${context.runId}@${SMOKE_EMAIL_DOMAIN}`;
  // Random, so Kratos's breach and similarity checks accept it.
  const password = `${randomBytes(18).toString("base64url")}-Aa1`;
  const database = context.environment.databases.kratos.database;
  let identityId: string | undefined;
  let sessionToken: string | undefined;
  let cleanupRegistered = false;

  return [
    {
      name: "registration (API flow)",
      run: async ({ signal }) => {
        if (!cleanupRegistered) {
          cleanupRegistered = true;
          context.cleanup.push("kratos", "delete the test identity", (step) =>
            deleteIdentities(admin, email, identityId, step),
          );
        }
        const flow = await startFlow(publicApi, "registration", signal);
        const response = await publicApi.send(
          "POST",
          "/self-service/registration",
          {
            query: { flow },
            json: {
              method: "password",
              password,
              traits: { email, name: { first: "Ory", last: "Smoke" } },
            },
            signal,
          },
        );
        expectFlowStatus(response);
        const body = response.json as {
          identity?: { id?: unknown };
          session_token?: unknown;
        };
        if (typeof body?.identity?.id !== "string") {
          throw new CheckFailure(
            `${response.request} returned no identity id: ${describeBody(response)}`,
            { retry: false },
          );
        }
        identityId = body.identity.id;
        // Kratos returns a session token here only when the session hook runs
        // after password registration. Login below works either way.
        const session =
          typeof body.session_token === "string"
            ? "session issued at registration"
            : "no session at registration (the registration session hook is not configured)";
        return `identity ${identityId}; ${session}`;
      },
    },
    {
      name: "login (API flow)",
      run: async ({ signal }) => {
        const flow = await startFlow(publicApi, "login", signal);
        const response = await publicApi.send("POST", "/self-service/login", {
          query: { flow },
          json: { method: "password", identifier: email, password },
          signal,
        });
        expectFlowStatus(response);
        const token = (response.json as { session_token?: unknown })
          ?.session_token;
        if (typeof token !== "string" || token === "") {
          throw new CheckFailure(
            `${response.request} returned no session_token: ${describeBody(response)}`,
            { retry: false },
          );
        }
        sessionToken = token;
        return "session token issued";
      },
    },
    {
      name: "whoami with the session token",
      run: async ({ signal }) => {
        const response = await whoami(publicApi, sessionToken!, signal);
        expectStatus(response, [200]);
        const id = (response.json as { identity?: { id?: unknown } })?.identity
          ?.id;
        if (id !== identityId) {
          throw new CheckFailure(
            `${response.request} returned identity ${String(id)}, expected ${identityId}`,
            { retry: false },
          );
        }
        return `session of identity ${identityId}`;
      },
    },
    {
      name: "logout (API flow)",
      run: async ({ signal }) => {
        const response = await publicApi.send(
          "DELETE",
          "/self-service/logout/api",
          { json: { session_token: sessionToken }, signal },
        );
        expectStatus(response, [204]);
        return "session revoked";
      },
    },
    {
      name: "whoami after logout is rejected",
      run: async ({ signal }) => {
        const response = await whoami(publicApi, sessionToken!, signal);
        if (response.status === 200) {
          throw new CheckFailure(
            `${response.request} still returned 200 after logout; the session was not revoked`,
          );
        }
        expectStatus(response, [401]);
        return "401 Unauthorized";
      },
    },
    {
      name: "sql: identity with password credential",
      skipReason: () => sqlSkipReason(context),
      run: async () => {
        const rows = await context.sql.query<{ identifier: string }>(
          database,
          `SELECT ci.identifier
             FROM identities AS i
             JOIN identity_credentials AS c ON c.identity_id = i.id
             JOIN identity_credential_types AS t ON t.id = c.identity_credential_type_id
             JOIN identity_credential_identifiers AS ci ON ci.identity_credential_id = c.id
            WHERE i.id = $1 AND t.name = 'password'`,
          [identityId],
        );
        // Kratos stores e-mail identifiers in lower case.
        const identifier = email.toLowerCase();
        if (!rows.some((row) => row.identifier === identifier)) {
          throw new CheckFailure(
            `database ${database} has no password credential with identifier ${identifier} for identity ${identityId}`,
          );
        }
        return `identity ${identityId} with identifier ${identifier}`;
      },
    },
  ];
}

function readOnlySteps(context: CheckContext, admin: OryApi): StepDefinition[] {
  const database = context.environment.databases.kratos.database;
  return [
    {
      name: "list identities",
      run: async ({ signal }) => {
        const response = await admin.send("GET", "/admin/identities", {
          query: { page_size: 1 },
          signal,
        });
        expectStatus(response, [200]);
        asArray(response);
        return "the admin API lists identities";
      },
    },
    {
      name: "sql: password credential type",
      skipReason: () => sqlSkipReason(context),
      run: async () => {
        const rows = await context.sql.query(
          database,
          "SELECT name FROM identity_credential_types WHERE name = 'password'",
        );
        if (rows.length === 0) {
          throw new CheckFailure(
            `identity_credential_types in database ${database} has no row named password`,
            { retry: false },
          );
        }
        return "identity_credential_types has password";
      },
    },
  ];
}

/** Creates a self-service API flow and returns its id. */
async function startFlow(
  publicApi: OryApi,
  kind: "registration" | "login",
  signal: AbortSignal,
): Promise<string> {
  const response = await publicApi.send("GET", `/self-service/${kind}/api`, {
    signal,
  });
  expectStatus(response, [200]);
  const id = (response.json as { id?: unknown })?.id;
  if (typeof id !== "string") {
    throw new CheckFailure(
      `${response.request} returned no flow id: ${describeBody(response)}`,
      { retry: false },
    );
  }
  return id;
}

/**
 * Expects 200 from a submitted flow. A 400 carries the flow with its UI
 * messages (a weak password, an unknown identifier), which are clearer
 * than the body around them.
 */
function expectFlowStatus(response: ApiResponse): void {
  if (response.status !== 400) return expectStatus(response, [200]);
  const messages = collectUiMessages(response.json);
  throw new CheckFailure(
    `${response.request} returned 400: ${messages.length > 0 ? messages.join("; ") : describeBody(response)}`,
    { retry: false },
  );
}

function collectUiMessages(body: unknown): string[] {
  const ui = (body as { ui?: { messages?: unknown; nodes?: unknown } })?.ui;
  const texts: string[] = [];
  const add = (messages: unknown) => {
    if (!Array.isArray(messages)) return;
    for (const message of messages) {
      const text = (message as { text?: unknown })?.text;
      if (typeof text === "string") texts.push(text);
    }
  };
  add(ui?.messages);
  if (Array.isArray(ui?.nodes)) {
    for (const node of ui.nodes) add((node as { messages?: unknown }).messages);
  }
  return texts;
}

function whoami(
  publicApi: OryApi,
  token: string,
  signal: AbortSignal,
): Promise<ApiResponse> {
  return publicApi.send("GET", "/sessions/whoami", {
    headers: { "x-session-token": token },
    signal,
  });
}
