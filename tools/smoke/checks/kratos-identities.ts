import { expectStatus, type OryApi } from "../http.js";
import type { StepContext } from "../steps.js";
import { asArray } from "./pages.js";

/**
 * Deletes the identity by id, or finds it by its e-mail when the run was
 * interrupted before Kratos returned the id. A 404 counts as deleted.
 * Deleting an identity deletes its sessions too.
 */
export async function deleteIdentities(
  admin: OryApi,
  email: string,
  knownId: string | undefined,
  step: StepContext,
): Promise<string> {
  const ids = new Set<string>(knownId ? [knownId] : []);
  if (!knownId) {
    const response = await admin.send("GET", "/admin/identities", {
      query: { credentials_identifier: email },
      signal: step.signal,
    });
    expectStatus(response, [200]);
    for (const entry of asArray(response)) {
      const id = (entry as { id?: unknown }).id;
      if (typeof id === "string") ids.add(id);
    }
  }
  for (const id of ids) await deleteIdentity(admin, id, step);
  return ids.size === 0
    ? "nothing to delete"
    : `deleted ${[...ids].join(", ")}`;
}

/** Deletes one identity; a 404 counts as deleted. */
export async function deleteIdentity(
  admin: OryApi,
  id: string,
  { signal }: StepContext,
): Promise<void> {
  const response = await admin.send(
    "DELETE",
    `/admin/identities/${encodeURIComponent(id)}`,
    { signal },
  );
  expectStatus(response, [204, 404]);
}
