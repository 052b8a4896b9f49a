import type { OryService } from "../../tools/lib/environment.js";
import {
  grantAllOnDatabase,
  grantConnect,
  grantOnPublicSchema,
  grantSelectOnAllTables,
  grantSelectOnFutureTables,
  type Dialect,
  type Statement,
} from "./dialect.js";
import type { ServerState } from "./inspect.js";
import {
  findCrossServicePrivileges,
  holds,
  planPublicPrivileges,
} from "./isolation.js";
import { decidePassword, type PasswordDecision } from "./passwords.js";
import {
  decideApplicationSecrets,
  planCaSecret,
  planServiceSecret,
  planSmokeSecret,
  storedPasswordFor,
  storedSecret,
} from "./plan-secrets.js";
import { planRotations, type Rotation } from "./rotation.js";
import {
  CREATED_DATABASE_ANNOTATION,
  type StoredSecret,
} from "./secret-store.js";
import type { ServiceTarget, Targets } from "./targets.js";

/**
 * exists: nothing to do. create, change: a statement or Secret write will
 * make it so. blocked: needs the operator, and the reason explains how.
 * finding: a privilege that breaks isolation, which this command did not
 * grant and so does not revoke. The reason gives the statement to run.
 * left: harmless, and not this command's to change. The reason gives the
 * fix by hand.
 */
export type ItemStatus =
  "exists" | "create" | "change" | "blocked" | "finding" | "left";

/** One fact the run ensures, such as a database, a grant or a Secret. */
export interface PlanItem {
  /** The service, the smoke user, or "cluster". */
  group: string;
  subject: string;
  status: ItemStatus;
  reason?: string;
  statements: Statement[];
  /** Secret to write; every Secret is written before any statement runs. */
  secret?: StoredSecret;
  /** Users that must exist, or be created in this run, for its statements. */
  requires?: string[];
}

export interface Plan {
  items: PlanItem[];
  /** Each user's password after the run, for verification. */
  passwords: Map<string, string>;
  /** Services whose running pods hold a password or secret that stops working. */
  restarts: OryService[];
  warnings: string[];
}

export interface PlanInput {
  dialect: Dialect;
  targets: Targets;
  state: ServerState;
  /** Existing Secrets keyed by "namespace/name"; missing ones are null. */
  stored: Map<string, StoredSecret | null>;
  /** Users whose passwords --rotate-passwords replaces; empty for none. */
  rotatePasswords: readonly string[];
  /** "service.key" names of application secrets that may be regenerated. */
  regenerateAppSecrets: ReadonlySet<string>;
  /** PEM text of CockroachDB's CA, when one was given. */
  caCertificate: string | undefined;
  /** Start time of a new rotation; defaults to now. */
  now?: Date;
}

/** Compares what the environment needs with what exists. Pure: no I/O. */
export function buildPlan(input: PlanInput): Plan {
  const plan: Plan = {
    items: [],
    passwords: new Map(),
    restarts: [],
    warnings: [...input.targets.warnings],
  };
  const rotations = planRotations(
    input.rotatePasswords,
    input.now ?? new Date(),
    secretAnnotations(input),
    plan.warnings,
  );
  for (const service of input.targets.services) {
    planService(input, service, rotations.get(service.user), plan);
  }
  planSmokeUser(input, rotations.get(input.targets.smoke.user), plan);
  const ca = planCaSecret(input);
  if (ca) plan.items.push(ca);
  blockWhereUsersAreMissing(input, plan);
  return plan;
}

/** Maps each user to its Secret's annotations, or undefined without one. */
function secretAnnotations(
  input: PlanInput,
): Map<string, Record<string, string> | undefined> {
  const { services, smoke } = input.targets;
  const annotations = new Map<string, Record<string, string> | undefined>();
  for (const { user, secret } of [...services, smoke]) {
    annotations.set(user, storedSecret(input, secret)?.annotations);
  }
  return annotations;
}

function planService(
  input: PlanInput,
  service: ServiceTarget,
  rotation: Rotation | undefined,
  plan: Plan,
) {
  const { dialect } = input;
  const { database, user } = service;
  const stored = storedSecret(input, service.secret);
  const state = input.state.databases.get(database);
  const add = (item: Omit<PlanItem, "group">) =>
    plan.items.push({ group: service.service, ...item });

  add({
    subject: `database ${database}`,
    status: state ? "exists" : "create",
    statements: state ? [] : [dialect.createDatabase(database)],
  });
  const createdHere =
    !state || stored?.annotations[CREATED_DATABASE_ANNOTATION] === database;
  for (const item of planPublicPrivileges(
    dialect,
    database,
    state,
    createdHere,
  )) {
    add(item);
  }

  const applicationSecrets = decideApplicationSecrets(
    input,
    service,
    stored,
    plan.warnings,
  );
  const decision = decidePassword(dialect, {
    user,
    secretLabel: `${service.secret.namespace}/${service.secret.name}`,
    userExists: input.state.roles.has(user),
    storedPassword: storedPasswordFor(stored, user),
    login: input.state.logins.get(user),
    rotation,
  });
  // A new password reaches the Secret before the user gets it, so a
  // blocked Secret blocks every password change too.
  const changesPassword =
    decision.status === "create" || decision.status === "change";
  if (applicationSecrets.blockedReason && changesPassword) {
    decision.status = "blocked";
    decision.statements = [];
    decision.reason = `waits for Secret ${service.secret.namespace}/${service.secret.name}, which is blocked`;
    decision.invalidatesRunningPods = false;
  }
  add(userItem(user, decision));
  if (decision.status !== "blocked" && decision.password) {
    plan.passwords.set(user, decision.password);
  }
  const regenerates =
    !applicationSecrets.blockedReason &&
    applicationSecrets.regenerated.length > 0;
  if (decision.invalidatesRunningPods || regenerates) {
    plan.restarts.push(service.service);
  }

  const grants = state?.grants ?? [];
  const hasAll =
    holds(grants, user, "ALL") ||
    dialect.allDatabasePrivileges.every((p) => holds(grants, user, p));
  add(
    grantItem(
      `${user} has ALL on database ${database}`,
      hasAll,
      grantAllOnDatabase(database, user),
      [user],
    ),
  );
  const schemaGrants = state?.schemaGrants ?? [];
  const hasSchema =
    holds(schemaGrants, user, "ALL") ||
    (holds(schemaGrants, user, "USAGE") && holds(schemaGrants, user, "CREATE"));
  add(
    grantItem(
      `${user} has USAGE, CREATE on schema ${database}.public`,
      hasSchema,
      grantOnPublicSchema(database, user, ["USAGE", "CREATE"]),
      [user],
    ),
  );
  for (const item of findCrossServicePrivileges(input, service)) add(item);

  add(
    planServiceSecret(
      input,
      service,
      stored,
      decision,
      applicationSecrets,
      createdHere,
      rotation,
    ),
  );
}

function planSmokeUser(
  input: PlanInput,
  rotation: Rotation | undefined,
  plan: Plan,
) {
  const { dialect, targets } = input;
  const smoke = targets.smoke;
  const group = smoke.user;
  const stored = storedSecret(input, smoke.secret);
  const decision = decidePassword(dialect, {
    user: smoke.user,
    secretLabel: `${smoke.secret.namespace}/${smoke.secret.name}`,
    userExists: input.state.roles.has(smoke.user),
    storedPassword: storedPasswordFor(stored, smoke.user),
    login: input.state.logins.get(smoke.user),
    rotation,
  });
  plan.items.push({ group, ...userItem(smoke.user, decision) });
  if (decision.password) plan.passwords.set(smoke.user, decision.password);

  for (const service of targets.services) {
    const database = service.database;
    const state = input.state.databases.get(database);
    const add = (item: Omit<PlanItem, "group">) =>
      plan.items.push({ group, ...item });
    const grants = state?.grants ?? [];
    add(
      grantItem(
        `${smoke.user} has CONNECT on database ${database}`,
        holds(grants, smoke.user, "CONNECT") ||
          holds(grants, smoke.user, "ALL"),
        grantConnect(database, smoke.user),
        [smoke.user],
      ),
    );
    const schemaGrants = state?.schemaGrants ?? [];
    add(
      grantItem(
        `${smoke.user} has USAGE on schema ${database}.public`,
        holds(schemaGrants, smoke.user, "USAGE") ||
          holds(schemaGrants, smoke.user, "ALL"),
        grantOnPublicSchema(database, smoke.user, ["USAGE"]),
        [smoke.user],
      ),
    );
    const unreadable = (state?.tables ?? []).filter((table) => !table.readable);
    add({
      ...grantItem(
        `${smoke.user} has SELECT on tables in ${database}.public`,
        unreadable.length === 0,
        grantSelectOnAllTables(database, smoke.user),
        [smoke.user],
      ),
      reason:
        unreadable.length > 0
          ? `${unreadable.length} table(s) without it: ${unreadable.map((t) => t.name).join(", ")}`
          : undefined,
    });
    add(
      grantItem(
        `${smoke.user} has SELECT on tables that ${service.user} creates later in ${database}`,
        holds(state?.defaultTableGrants ?? [], smoke.user, "SELECT"),
        grantSelectOnFutureTables(database, service.user, smoke.user),
        [service.user, smoke.user],
      ),
    );
  }

  plan.items.push({
    group,
    ...planSmokeSecret(input, stored, decision, rotation),
  });
}

/**
 * Blocks each statement that names a user who neither exists nor is
 * created in this run, which happens when that user's item is blocked.
 */
function blockWhereUsersAreMissing(input: PlanInput, plan: Plan): void {
  const present = new Set(input.state.roles);
  for (const item of plan.items) {
    if (item.subject.startsWith("user ") && item.status === "create") {
      present.add(item.subject.slice("user ".length));
    }
  }
  for (const item of plan.items) {
    if (item.status !== "create" && item.status !== "change") continue;
    const missing = (item.requires ?? []).filter((user) => !present.has(user));
    if (missing.length === 0) continue;
    item.status = "blocked";
    item.statements = [];
    item.reason = `waits for user ${missing.join(", ")}, which is blocked`;
  }
}

// Copies only what a plan item shows, never the password itself.
function userItem(
  user: string,
  decision: PasswordDecision,
): Omit<PlanItem, "group"> {
  return {
    subject: `user ${user}`,
    status: decision.status,
    reason: decision.reason,
    statements: decision.statements,
  };
}

function grantItem(
  subject: string,
  held: boolean,
  statement: Statement,
  requires: string[],
): Omit<PlanItem, "group"> {
  return held
    ? { subject, status: "exists", statements: [] }
    : { subject, status: "create", statements: [statement], requires };
}
