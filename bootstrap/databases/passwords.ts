import { generateSecret, PASSWORD_LENGTH } from "./credentials.js";
import type { Dialect, Statement } from "./dialect.js";
import type { ItemStatus } from "./plan.js";
import type { Rotation } from "./rotation.js";

/** Outcome for one user's password, with the reason. */
export interface PasswordDecision {
  status: ItemStatus;
  /** The password the user has after the run, or null when blocked. */
  password: string | null;
  statements: Statement[];
  reason: string;
  /** Whether running pods hold a password that stops working. */
  invalidatesRunningPods: boolean;
}

export interface PasswordFacts {
  user: string;
  /** "namespace/name" of the Secret that stores the password. */
  secretLabel: string;
  userExists: boolean;
  /** Password read from that Secret's DSN, if the DSN is for this user. */
  storedPassword: string | undefined;
  /** Whether the stored password logs in; undefined when not tried. */
  login: "accepted" | "rejected" | undefined;
  /** The rotation this user's password belongs to in this run, if any. */
  rotation: Rotation | undefined;
}

/**
 * Decides a user's password, with the Secret as the source of truth. A
 * user in a rotation gets a new password, whatever is stored, because the
 * stored one may have leaked. Otherwise a missing user is created with the
 * stored password when there is one, and a stored password that no longer
 * logs in is set on the user, which finishes a rotation that stopped after
 * the Secret was written. A user that exists without a stored password is
 * blocked, because its current password cannot be recovered.
 */
export function decidePassword(
  dialect: Dialect,
  facts: PasswordFacts,
): PasswordDecision {
  const { user, secretLabel, storedPassword, rotation } = facts;
  if (rotation) {
    const password = generateSecret(PASSWORD_LENGTH);
    const reason = rotation.resumed
      ? `new password: finishes the rotation started ${rotation.id}, which stopped before it wrote Secret ${secretLabel}`
      : "new password (--rotate-passwords)";
    return {
      status: facts.userExists ? "change" : "create",
      password,
      statements: [
        facts.userExists
          ? dialect.setPassword(user, password)
          : dialect.createUser(user, password),
      ],
      reason,
      invalidatesRunningPods: facts.userExists,
    };
  }
  if (!facts.userExists) {
    const password = storedPassword ?? generateSecret(PASSWORD_LENGTH);
    return {
      status: "create",
      password,
      statements: [dialect.createUser(user, password)],
      reason: storedPassword
        ? `with the password stored in Secret ${secretLabel}`
        : "with a new password",
      invalidatesRunningPods: false,
    };
  }
  if (storedPassword === undefined) {
    return {
      status: "blocked",
      password: null,
      statements: [],
      reason:
        `the user exists, but Secret ${secretLabel} has no password for it and the current one cannot be read back. ` +
        `Rerun with --apply --rotate-passwords ${user} to set and store a new one for this user only, then restart the pods that use the old one`,
      invalidatesRunningPods: false,
    };
  }
  if (facts.login === "rejected") {
    return {
      status: "change",
      password: storedPassword,
      statements: [dialect.setPassword(user, storedPassword)],
      reason:
        `the password in Secret ${secretLabel} does not log in (a rotation that stopped part-way, or a change made outside this command); ` +
        "setting it from the Secret",
      invalidatesRunningPods: true,
    };
  }
  return {
    status: "exists",
    password: storedPassword,
    statements: [],
    reason: `password matches Secret ${secretLabel}`,
    invalidatesRunningPods: false,
  };
}
