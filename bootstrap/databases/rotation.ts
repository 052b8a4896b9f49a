/**
 * Password rotations that survive a crash. Every Secret that a rotation
 * writes records the rotation's id (the time it started, ISO 8601 UTC) and
 * the users it covers. A later run that finds a covered user whose Secret
 * does not carry that id, or a later one, rotates that user too, with or
 * without --rotate-passwords. So a run stopped after some Secret writes
 * still ends with every covered user on a new password, and no old
 * password keeps working because its Secret was never reached.
 */

/** Annotation holding the id of the last rotation that wrote the Secret. */
export const ROTATION_ANNOTATION = "ory-crdb-gitops.example/password-rotation";
/** Annotation listing every user of that rotation, comma-separated. */
export const ROTATION_USERS_ANNOTATION =
  "ory-crdb-gitops.example/password-rotation-users";

/** The rotation a user's password belongs to in this run. */
export interface Rotation {
  id: string;
  users: string[];
  /** True when an earlier run started it and stopped before this user. */
  resumed: boolean;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Decides which users rotate in this run: the users of `requested`, and
 * every user that a rotation recorded in a Secret covers but that user's
 * Secret has not reached. `annotations` maps each user to its Secret's
 * annotations, or undefined when the Secret does not exist. Malformed
 * annotations are skipped with a warning.
 */
export function planRotations(
  requested: readonly string[],
  now: Date,
  annotations: Map<string, Record<string, string> | undefined>,
  warnings: string[],
): Map<string, Rotation> {
  const recorded = new Map<string, string[]>();
  for (const [user, values] of annotations) {
    const id = values?.[ROTATION_ANNOTATION];
    if (id === undefined) continue;
    const users = values?.[ROTATION_USERS_ANNOTATION]?.split(",") ?? [];
    if (!ISO_TIME.test(id) || users.length === 0) {
      warnings.push(
        `the Secret of user ${user} has an invalid ${ROTATION_ANNOTATION} or ${ROTATION_USERS_ANNOTATION} annotation, so it is ignored`,
      );
      continue;
    }
    recorded.set(id, [...new Set([...(recorded.get(id) ?? []), ...users])]);
  }

  const rotations = new Map<string, Rotation>();
  const ids = [...recorded.keys()].sort();
  for (const id of ids) {
    const users = recorded.get(id)!;
    for (const user of users) {
      if (!annotations.has(user)) continue;
      const reached = annotations.get(user)?.[ROTATION_ANNOTATION];
      if (reached !== undefined && ISO_TIME.test(reached) && reached >= id) {
        continue;
      }
      rotations.set(user, { id, users, resumed: true });
    }
  }

  if (requested.length > 0) {
    const id = nextId(now, ids.at(-1));
    for (const user of requested) {
      rotations.set(user, { id, users: [...requested], resumed: false });
    }
  }
  return rotations;
}

/**
 * Returns the id of a new rotation: the current time, moved past the
 * latest recorded id when this machine's clock is behind the one that
 * wrote it, so a new rotation always sorts after the ones it supersedes.
 */
function nextId(now: Date, latest: string | undefined): string {
  const id = now.toISOString();
  if (latest === undefined || id > latest) return id;
  return new Date(Date.parse(latest) + 1).toISOString();
}

/** Returns the annotations that record `rotation` in a Secret. */
export function rotationAnnotations(
  rotation: Rotation,
): Record<string, string> {
  return {
    [ROTATION_ANNOTATION]: rotation.id,
    [ROTATION_USERS_ANNOTATION]: rotation.users.join(","),
  };
}
