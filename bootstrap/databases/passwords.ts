import { generateSecret, PASSWORD_LENGTH } from "./credentials.js";
import type { Dialect, Statement } from "./dialect.js";
import type { ItemStatus } from "./plan.js";

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
  rotate: boolean;
}

/**
 * Decides a user's password, with the Secret as the source of truth. A
 * missing user is created with the stored password when there is one. A
 * stored password that no longer logs in is set on the user, which finishes
 * a rotation that stopped after the Secret was written. A user that exists
 * without a stored password is blocked unless rotation was requested,
 * because its current password cannot be recovered.
 */
export function decidePassword(
  dialect: Dialect,
  facts: PasswordFacts,
): PasswordDecision {
  const { user, secretLabel, storedPassword } = facts;
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
    if (!facts.rotate) {
      return {
        status: "blocked",
        password: null,
        statements: [],
        reason:
          `the user exists, but Secret ${secretLabel} has no password for it and the current one cannot be read back. ` +
          "Rerun with --rotate-passwords to set and store a new one, then restart the pods that use the old one",
        invalidatesRunningPods: false,
      };
    }
    return rotated(dialect, user, "new password (--rotate-passwords)");
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
  if (facts.rotate) {
    return rotated(dialect, user, "new password (--rotate-passwords)");
  }
  return {
    status: "exists",
    password: storedPassword,
    statements: [],
    reason: `password matches Secret ${secretLabel}`,
    invalidatesRunningPods: false,
  };
}

function rotated(
  dialect: Dialect,
  user: string,
  reason: string,
): PasswordDecision {
  const password = generateSecret(PASSWORD_LENGTH);
  return {
    status: "change",
    password,
    statements: [dialect.setPassword(user, password)],
    reason,
    invalidatesRunningPods: true,
  };
}
