import { expectStatus, type ApiResponse, type OryApi } from "../http.js";
import type { StepContext } from "../steps.js";
import { asArray, nextPageToken } from "./pages.js";

/**
 * client_name of every client a run creates. Hydra filters clients by exact
 * name, so the name is fixed and the run id goes into `owner`.
 */
export const SMOKE_CLIENT_NAME = "ory-smoke";

/**
 * Deletes every client whose owner is this run, and the client created by
 * id, in case the list lags behind the write. A 404 counts as deleted.
 */
export async function deleteRunClients(
  admin: OryApi,
  runId: string,
  knownId: string | undefined,
  step: StepContext,
): Promise<string> {
  const ids = new Set(await listClientIds(admin, { owner: runId }, step));
  if (knownId) ids.add(knownId);
  for (const id of ids) await deleteClient(admin, id, step);
  return ids.size === 0
    ? "nothing to delete"
    : `deleted ${[...ids].join(", ")}`;
}

/** Deletes one OAuth2 client; a 404 counts as deleted. */
export async function deleteClient(
  admin: OryApi,
  id: string,
  { signal }: StepContext,
): Promise<void> {
  const response = await admin.send(
    "DELETE",
    `/admin/clients/${encodeURIComponent(id)}`,
    { signal },
  );
  expectStatus(response, [204, 404]);
}

/**
 * Lists the ids of the smoke clients, optionally of one owner, following
 * the `Link: <...>; rel="next"` pages. Returns each client's owner too.
 */
export async function listSmokeClients(
  admin: OryApi,
  filter: { owner?: string },
  { signal }: StepContext,
): Promise<{ id: string; owner: string }[]> {
  const clients: { id: string; owner: string }[] = [];
  let pageToken: string | undefined;
  do {
    const response: ApiResponse = await admin.send("GET", "/admin/clients", {
      query: {
        client_name: SMOKE_CLIENT_NAME,
        ...(filter.owner ? { owner: filter.owner } : {}),
        page_size: 500,
        ...(pageToken ? { page_token: pageToken } : {}),
      },
      signal,
    });
    expectStatus(response, [200]);
    for (const entry of asArray(response)) {
      const { client_id, owner, client_name } = entry as Record<
        string,
        unknown
      >;
      // Filter again: a Hydra that ignores a query parameter returns all.
      if (typeof client_id !== "string" || client_name !== SMOKE_CLIENT_NAME)
        continue;
      if (filter.owner && owner !== filter.owner) continue;
      clients.push({ id: client_id, owner: String(owner ?? "") });
    }
    pageToken = nextPageToken(response.headers.link);
  } while (pageToken);
  return clients;
}

async function listClientIds(
  admin: OryApi,
  filter: { owner?: string },
  step: StepContext,
): Promise<string[]> {
  return (await listSmokeClients(admin, filter, step)).map(
    (client) => client.id,
  );
}
