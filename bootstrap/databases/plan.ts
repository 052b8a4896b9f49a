import type { OryService } from "../../tools/lib/environment.js";
import {
  grantAllOnDatabase,
  grantConnect,
  grantOnPublicSchema,
  grantSelectOnAllTables,
  grantSelectOnFutureTables,
  revokeConnectFromPublic,
  revokeCreateOnPublicSchema,
  type Dialect,
  type Statement,
} from "./dialect.js";
import type { DatabaseState, Grant, ServerState } from "./inspect.js";
import { decidePassword, type PasswordDecision } from "./passwords.js";
import {
  planCaSecret,
  planServiceSecret,
  planSmokeSecret,
  storedPasswordFor,
  storedSecret,
} from "./plan-secrets.js";
import {
  CREATED_DATABASE_ANNOTATION,
  type StoredSecret,
} from "./secret-store.js";
import type { ServiceTarget, Targets } from "./targets.js";

/**
 * exists: nothing to do. create, change: a statement or Secret write will
 * make it so. blocked: needs the operator, and the reason explains how.
 * left: not this command's to change, and the reason gives the fix by hand.
 */
export type ItemStatus = "exists" | "create" | "change" | "blocked" | "left";

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
}

export interface Plan {
  items: PlanItem[];
  /** Each user's password after the run, for verification. */
  passwords: Map<string, string>;
  /** Services whose running pods hold a password that stops working. */
  restarts: OryService[];
  warnings: string[];
}

export interface PlanInput {
  dialect: Dialect;
  targets: Targets;
  state: ServerState;
  /** Existing Secrets keyed by "namespace/name"; missing ones are null. */
  stored: Map<string, StoredSecret | null>;
  rotatePasswords: boolean;
  /** PEM text of CockroachDB's CA, when one was given. */
  caCertificate: string | undefined;
}

/** Compares what the environment needs with what exists. Pure: no I/O. */
export function buildPlan(input: PlanInput): Plan {
  const plan: Plan = {
    items: [],
    passwords: new Map(),
    restarts: [],
    warnings: [...input.targets.warnings],
  };
  for (const service of input.targets.services) {
    planService(input, service, plan);
  }
  planSmokeUser(input, plan);
  const ca = planCaSecret(input);
  if (ca) plan.items.push(ca);
  return plan;
}

function planService(input: PlanInput, service: ServiceTarget, plan: Plan) {
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
  for (const item of planIsolation(dialect, database, state, createdHere)) {
    add(item);
  }

  const storedPassword = storedPasswordFor(stored, user);
  const decision = decidePassword(dialect, {
    user,
    secretLabel: `${service.secret.namespace}/${service.secret.name}`,
    userExists: input.state.roles.has(user),
    storedPassword,
    login: input.state.logins.get(user),
    rotate: input.rotatePasswords,
  });
  add(userItem(user, decision));
  if (decision.password) plan.passwords.set(user, decision.password);
  if (decision.invalidatesRunningPods) plan.restarts.push(service.service);

  const grants = state?.grants ?? [];
  const hasAll =
    holds(grants, user, "ALL") ||
    dialect.allDatabasePrivileges.every((p) => holds(grants, user, p));
  add(
    grantItem(
      `${user} has ALL on database ${database}`,
      hasAll,
      grantAllOnDatabase(database, user),
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
    ),
  );

  add(
    planServiceSecret(
      input,
      service,
      stored,
      decision,
      createdHere,
      plan.warnings,
    ),
  );
}

/**
 * Neither server isolates databases by default: CockroachDB gives public
 * CREATE on each new database's public schema and does not check CONNECT,
 * and PostgreSQL gives public CONNECT on every database. Revokes apply only
 * to databases this command created; on others the grant is reported.
 */
function planIsolation(
  dialect: Dialect,
  database: string,
  state: DatabaseState | undefined,
  createdHere: boolean,
): Omit<PlanItem, "group">[] {
  const publicConnects = state
    ? holds(state.grants, "public", "CONNECT")
    : true;
  const publicCreates = state
    ? holds(state.schemaGrants, "public", "CREATE")
    : dialect.publicCanCreateInNewDatabases;
  return [
    revokeItem(
      `public has no CONNECT on database ${database}`,
      publicConnects,
      createdHere,
      revokeConnectFromPublic(database),
    ),
    revokeItem(
      `public has no CREATE on schema ${database}.public`,
      publicCreates,
      createdHere,
      revokeCreateOnPublicSchema(database),
    ),
  ];
}

function revokeItem(
  subject: string,
  granted: boolean,
  createdHere: boolean,
  statement: Statement,
): Omit<PlanItem, "group"> {
  if (!granted) return { subject, status: "exists", statements: [] };
  if (createdHere)
    return { subject, status: "change", statements: [statement] };
  return {
    subject,
    status: "left",
    reason: `this command did not create the database, so it does not revoke; run "${statement.sql}" by hand if nothing else needs it`,
    statements: [],
  };
}

function planSmokeUser(input: PlanInput, plan: Plan) {
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
    rotate: input.rotatePasswords,
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
      ),
    );
    const schemaGrants = state?.schemaGrants ?? [];
    add(
      grantItem(
        `${smoke.user} has USAGE on schema ${database}.public`,
        holds(schemaGrants, smoke.user, "USAGE") ||
          holds(schemaGrants, smoke.user, "ALL"),
        grantOnPublicSchema(database, smoke.user, ["USAGE"]),
      ),
    );
    const unreadable = (state?.tables ?? []).filter((table) => !table.readable);
    add({
      ...grantItem(
        `${smoke.user} has SELECT on tables in ${database}.public`,
        unreadable.length === 0,
        grantSelectOnAllTables(database, smoke.user),
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
      ),
    );
  }

  plan.items.push({ group, ...planSmokeSecret(input, stored, decision) });
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
): Omit<PlanItem, "group"> {
  return held
    ? { subject, status: "exists", statements: [] }
    : { subject, status: "create", statements: [statement] };
}

function holds(grants: Grant[], grantee: string, privilege: string): boolean {
  return grants.some(
    (grant) => grant.grantee === grantee && grant.privilege === privilege,
  );
}
