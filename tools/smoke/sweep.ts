import { deleteClient, listSmokeClients } from "./checks/hydra-clients.js";
import { deleteIdentity } from "./checks/kratos-identities.js";
import { SMOKE_EMAIL_DOMAIN } from "./checks/kratos.js";
import { deleteTuple, type RelationTuple } from "./checks/keto.js";
import { asArray, nextPageToken } from "./checks/pages.js";
import { api, type CheckContext } from "./context.js";
import { expectStatus, type OryApi } from "./http.js";
import { runStartedAt } from "./run-id.js";
import type { StepContext, StepDefinition, Suite } from "./steps.js";

/**
 * Steps that delete what earlier runs left behind, when their run id shows
 * a start before `cutoff`. Names without a run id (the read-only
 * fixtures, anything else) are never touched.
 */
export function sweepSteps(
  context: CheckContext,
  suite: Exclude<Suite, "sql">,
  cutoff: Date,
): StepDefinition[] {
  const before = `from runs before ${cutoff.toISOString()}`;
  const isOld = (name: string) => {
    const started = runStartedAt(name);
    return started !== undefined && started < cutoff;
  };
  switch (suite) {
    case "hydra":
      return [
        {
          name: `sweep: OAuth2 clients ${before}`,
          run: (step) => sweepClients(api(context, "hydraAdmin"), isOld, step),
        },
      ];
    case "kratos":
      return [
        {
          name: `sweep: identities ${before}`,
          run: (step) =>
            sweepIdentities(api(context, "kratosAdmin"), isOld, step),
        },
      ];
    case "keto":
      return [
        {
          name: `sweep: relation tuples ${before}`,
          run: (step) =>
            sweepTuples(
              api(context, "ketoRead"),
              api(context, "ketoWrite"),
              context.environment.smoke.ketoNamespace,
              isOld,
              step,
            ),
        },
      ];
  }
}

async function sweepClients(
  admin: OryApi,
  isOld: (name: string) => boolean,
  step: StepContext,
): Promise<string> {
  const clients = await listSmokeClients(admin, {}, step);
  const old = clients.filter((client) => isOld(client.owner));
  for (const client of old) await deleteClient(admin, client.id, step);
  return `deleted ${old.length} of ${clients.length} smoke clients`;
}

/**
 * Pages through every identity, because Kratos filters identifiers only by
 * exact match. NOTE: this reads all identities of the environment, which
 * takes a while where there are millions.
 */
async function sweepIdentities(
  admin: OryApi,
  isOld: (name: string) => boolean,
  step: StepContext,
): Promise<string> {
  const old: string[] = [];
  let pageToken: string | undefined;
  do {
    const response = await admin.send("GET", "/admin/identities", {
      query: {
        page_size: 500,
        ...(pageToken ? { page_token: pageToken } : {}),
      },
      signal: step.signal,
    });
    expectStatus(response, [200]);
    for (const entry of asArray(response)) {
      const { id, traits } = entry as {
        id?: unknown;
        traits?: { email?: unknown };
      };
      const email = traits?.email;
      if (typeof id !== "string" || typeof email !== "string") continue;
      if (email.endsWith(`@${SMOKE_EMAIL_DOMAIN}`) && isOld(email))
        old.push(id);
    }
    pageToken = nextPageToken(response.headers.link);
  } while (pageToken);
  for (const id of old) await deleteIdentity(admin, id, step);
  return `deleted ${old.length} smoke identities`;
}

async function sweepTuples(
  read: OryApi,
  write: OryApi,
  namespace: string,
  isOld: (name: string) => boolean,
  step: StepContext,
): Promise<string> {
  // Collect first: deleting while paging would shift the pages.
  const old: RelationTuple[] = [];
  let pageToken: string | undefined;
  do {
    const response = await read.send("GET", "/relation-tuples", {
      query: {
        namespace,
        page_size: 500,
        ...(pageToken ? { page_token: pageToken } : {}),
      },
      signal: step.signal,
    });
    expectStatus(response, [200]);
    const body = response.json as {
      relation_tuples?: unknown;
      next_page_token?: unknown;
    };
    const tuples = Array.isArray(body?.relation_tuples)
      ? body.relation_tuples
      : [];
    for (const tuple of tuples as Partial<RelationTuple>[]) {
      if (typeof tuple.object !== "string" || !isOld(tuple.object)) continue;
      if (typeof tuple.subject_id !== "string") continue;
      old.push({
        namespace,
        object: tuple.object,
        relation: String(tuple.relation),
        subject_id: tuple.subject_id,
      });
    }
    pageToken =
      typeof body?.next_page_token === "string" && body.next_page_token !== ""
        ? body.next_page_token
        : undefined;
  } while (pageToken);
  for (const tuple of old) await deleteTuple(write, tuple, step);
  return `deleted ${old.length} smoke relation tuples in ${namespace}`;
}
