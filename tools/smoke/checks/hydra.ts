import { api, sqlSkipReason, type CheckContext } from "../context.js";
import { describeBody, expectStatus, type OryApi } from "../http.js";
import { readCount } from "../sql.js";
import { deleteRunClients, SMOKE_CLIENT_NAME } from "./hydra-clients.js";
import {
  CheckFailure,
  type StepContext,
  type StepDefinition,
} from "../steps.js";
import { healthStep, versionStep } from "./health.js";

interface IssuedClient {
  id: string;
  secret: string;
}

/** Hydra's steps: health, version, then the writing or the read-only chain. */
export function hydraSteps(context: CheckContext): StepDefinition[] {
  const publicApi = api(context, "hydraPublic");
  const admin = api(context, "hydraAdmin");
  const common = [
    healthStep("health: public API", publicApi),
    healthStep("health: admin API", admin),
    versionStep(admin),
  ];
  return common.concat(
    context.readOnly
      ? readOnlySteps(context, publicApi, admin)
      : writingSteps(context, publicApi, admin),
  );
}

function writingSteps(
  context: CheckContext,
  publicApi: OryApi,
  admin: OryApi,
): StepDefinition[] {
  let client: IssuedClient | undefined;
  let accessToken: string | undefined;
  let cleanupRegistered = false;
  const database = context.environment.databases.hydra.database;

  return [
    {
      name: "create OAuth2 client (client credentials)",
      run: async ({ signal }) => {
        if (!cleanupRegistered) {
          cleanupRegistered = true;
          context.cleanup.push(
            "hydra",
            "delete the OAuth2 clients of this run",
            (step) => deleteRunClients(admin, context.runId, client?.id, step),
          );
        }
        const response = await admin.send("POST", "/admin/clients", {
          json: {
            client_name: SMOKE_CLIENT_NAME,
            owner: context.runId,
            grant_types: ["client_credentials"],
            token_endpoint_auth_method: "client_secret_basic",
            metadata: { created_by: "npm run smoke", run_id: context.runId },
          },
          signal,
        });
        expectStatus(response, [201]);
        const body = response.json as {
          client_id?: unknown;
          client_secret?: unknown;
        };
        if (
          typeof body?.client_id !== "string" ||
          typeof body.client_secret !== "string"
        ) {
          throw new CheckFailure(
            `${response.request} returned no client_id and client_secret: ${describeBody(response)}`,
            { retry: false },
          );
        }
        client = { id: body.client_id, secret: body.client_secret };
        return `client ${client.id}`;
      },
    },
    {
      name: "issue token (client credentials)",
      run: async (step) => {
        accessToken = await issueToken(publicApi, client!, step);
        return "access token issued";
      },
    },
    {
      name: "introspect token",
      run: (step) => introspect(admin, accessToken!, client!.id, step),
    },
    {
      name: "sql: client row",
      skipReason: () => sqlSkipReason(context),
      run: () => expectClientRow(context, database, client!.id),
    },
    {
      name: "sql: access token row",
      skipReason: () => sqlSkipReason(context),
      run: async () => {
        const rows = await context.sql.query(
          database,
          "SELECT count(*) AS count FROM hydra_oauth2_access WHERE client_id = $1",
          [client!.id],
        );
        const count = readCount(rows[0]);
        if (count < 1) {
          throw new CheckFailure(
            `hydra_oauth2_access in database ${database} has no row for client ${client!.id}, although Hydra issued a token`,
          );
        }
        return `${count} row${count === 1 ? "" : "s"}`;
      },
    },
  ];
}

function readOnlySteps(
  context: CheckContext,
  publicApi: OryApi,
  admin: OryApi,
): StepDefinition[] {
  const { hydraClientId, hydraClientSecretEnv } =
    context.environment.smoke.fixtures;
  const secret = context.variables[hydraClientSecretEnv];
  const database = context.environment.databases.hydra.database;
  let accessToken: string | undefined;

  return [
    {
      name: "read the fixture client",
      run: async ({ signal }) => {
        const response = await admin.send(
          "GET",
          `/admin/clients/${encodeURIComponent(hydraClientId)}`,
          { signal },
        );
        // A missing fixture does not appear by waiting, so 404 fails at once.
        expectStatus(response, [200], {
          hint: `the read-only checks need the OAuth2 client ${hydraClientId} (smoke.fixtures.hydraClientId); register it once`,
          retry: response.status === 404 ? false : undefined,
        });
        const grants = (response.json as { grant_types?: unknown })
          ?.grant_types;
        return `client ${hydraClientId}, grant types ${Array.isArray(grants) ? grants.join(", ") : "unknown"}`;
      },
    },
    {
      // NOTE: Hydra stores the token it issues (hydra_oauth2_access) until
      // it expires. That row is Hydra's own doing and the one thing a
      // read-only run leaves in the database.
      name: "issue token (fixture client)",
      skipReason: () =>
        secret
          ? undefined
          : `${hydraClientSecretEnv} is not set, so no token is requested for the fixture client`,
      run: async (step) => {
        accessToken = await issueToken(
          publicApi,
          { id: hydraClientId, secret: secret! },
          step,
        );
        return "access token issued";
      },
    },
    {
      name: "introspect token",
      skipReason: () =>
        secret ? undefined : "no token was requested for the fixture client",
      run: (step) => introspect(admin, accessToken!, hydraClientId, step),
    },
    {
      name: "sql: fixture client row",
      skipReason: () => sqlSkipReason(context),
      run: () => expectClientRow(context, database, hydraClientId),
    },
  ];
}

/** Requests a client-credentials token with HTTP Basic client authentication. */
async function issueToken(
  publicApi: OryApi,
  client: IssuedClient,
  { signal }: StepContext,
): Promise<string> {
  // RFC 6749 section 2.3.1: the id and secret are form-encoded before Basic.
  const credentials = Buffer.from(
    `${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`,
  ).toString("base64");
  const response = await publicApi.send("POST", "/oauth2/token", {
    form: { grant_type: "client_credentials" },
    headers: { authorization: `Basic ${credentials}` },
    signal,
  });
  expectStatus(response, [200]);
  const token = (response.json as { access_token?: unknown })?.access_token;
  if (typeof token !== "string" || token === "") {
    throw new CheckFailure(
      `${response.request} returned no access_token: ${describeBody(response)}`,
      { retry: false },
    );
  }
  return token;
}

async function introspect(
  admin: OryApi,
  token: string,
  clientId: string,
  { signal }: StepContext,
): Promise<string> {
  const response = await admin.send("POST", "/admin/oauth2/introspect", {
    form: { token },
    signal,
  });
  expectStatus(response, [200]);
  const body = response.json as { active?: unknown; client_id?: unknown };
  if (body?.active !== true || body.client_id !== clientId) {
    const owner =
      typeof body?.client_id === "string"
        ? ` for client ${body.client_id}`
        : " without a client_id";
    throw new CheckFailure(
      `${response.request} returned active ${String(body?.active)}${owner}, expected active true for client ${clientId}: ${describeBody(response)}`,
    );
  }
  return `active, client ${clientId}`;
}

async function expectClientRow(
  context: CheckContext,
  database: string,
  clientId: string,
): Promise<string> {
  const rows = await context.sql.query(
    database,
    "SELECT id FROM hydra_client WHERE id = $1",
    [clientId],
  );
  if (rows.length === 0) {
    throw new CheckFailure(
      `hydra_client in database ${database} has no row with id ${clientId}`,
    );
  }
  return `row ${clientId}`;
}
