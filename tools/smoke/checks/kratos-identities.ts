import { expectStatus, type OryApi } from "../http.js";
import { RUN_PREFIX } from "../run-id.js";
import type { StepContext } from "../steps.js";
import { asArray } from "./pages.js";

/**
 * Deletes the identity by id, or finds it by its e-mail when the run was
 * interrupted before Kratos returned the id. A 404 counts as deleted.
 * Deleting an identity deletes its sessions too. Only identities whose
 * traits.email is `email` are deleted, and only when `email` starts with the
 * run prefix, because a Kratos that ignores the filter returns every user.
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
      const { id, traits } = entry as {
        id?: unknown;
        traits?: { email?: unknown };
      };
      if (typeof id === "string" && isRunIdentity(traits?.email, email)) {
        ids.add(id);
      }
    }
  }
  for (const id of ids) await deleteIdentity(admin, id, step);
  return ids.size === 0
    ? "nothing to delete"
    : `deleted ${[...ids].join(", ")}`;
}

/**
 * Returns true when `found` is this run's e-mail. Kratos stores the
 * identifier in lower case, so the comparison ignores case.
 */
function isRunIdentity(found: unknown, email: string): boolean {
  const expected = email.toLowerCase();
  return (
    typeof found === "string" &&
    found.toLowerCase() === expected &&
    expected.startsWith(RUN_PREFIX)
  );
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
