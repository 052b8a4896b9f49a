import {
  quoteIdentifier,
  revokeConnectFromPublic,
  revokeCreateOnPublicSchema,
  revokeTemporaryFromPublic,
  type Dialect,
  type Statement,
} from "./dialect.js";
import type { DatabaseState, Grant } from "./inspect.js";
import type { PlanInput, PlanItem } from "./plan.js";
import type { ServiceTarget } from "./targets.js";

type Item = Omit<PlanItem, "group">;

/**
 * Plans public's default privileges on a service database. Neither server
 * isolates databases by default: CockroachDB gives public CREATE on each
 * new database's public schema and does not check CONNECT, and PostgreSQL
 * gives public CONNECT and TEMPORARY on every database. Revokes apply only
 * to databases this command created. On others, CONNECT and CREATE are
 * findings, because they let one service reach another's data, and
 * TEMPORARY is left as is, because temporary tables are private to the
 * session that creates them.
 */
export function planPublicPrivileges(
  dialect: Dialect,
  database: string,
  state: DatabaseState | undefined,
  createdHere: boolean,
): Item[] {
  const publicConnects = state
    ? holds(state.grants, "public", "CONNECT")
    : true;
  const publicCreates = state
    ? holds(state.schemaGrants, "public", "CREATE")
    : dialect.publicCanCreateInNewDatabases;
  const items = [
    revokeItem(
      `public has no CONNECT on database ${database}`,
      publicConnects,
      createdHere,
      revokeConnectFromPublic(database),
      "finding",
    ),
    revokeItem(
      `public has no CREATE on schema ${database}.public`,
      publicCreates,
      createdHere,
      revokeCreateOnPublicSchema(database),
      "finding",
    ),
  ];
  if (dialect.hasTemporaryPrivilege) {
    const publicTemporary = state
      ? holds(state.grants, "public", "TEMPORARY")
      : true;
    items.push(
      revokeItem(
        `public has no TEMPORARY on database ${database}`,
        publicTemporary,
        createdHere,
        revokeTemporaryFromPublic(database),
        "left",
      ),
    );
  }
  return items;
}

function revokeItem(
  subject: string,
  granted: boolean,
  createdHere: boolean,
  statement: Statement,
  otherwise: "finding" | "left",
): Item {
  if (!granted) return { subject, status: "exists", statements: [] };
  if (createdHere)
    return { subject, status: "change", statements: [statement] };
  return {
    subject,
    status: otherwise,
    reason: `this command did not create the database, so it does not revoke; run "${statement.sql}" by hand if nothing else needs it`,
    statements: [],
  };
}

/**
 * Reports privileges that let one of this command's users reach another
 * service's database: grants on the database, its public schema or its
 * tables, default privileges on tables its service user creates later, and
 * role memberships among the users. The smoke user may hold CONNECT, USAGE
 * and SELECT only. This command never grants these, so it never revokes
 * them either: each finding gives the statement to run by hand.
 */
export function findCrossServicePrivileges(
  input: PlanInput,
  service: ServiceTarget,
): Item[] {
  const state = input.state.databases.get(service.database);
  const smoke = input.targets.smoke.user;
  const others = new Set([
    ...input.targets.services
      .filter((other) => other !== service)
      .map((other) => other.user),
    smoke,
  ]);
  const database = service.database;
  const quotedDatabase = quoteIdentifier(database);
  const items: Item[] = [];
  const extra = (grants: Grant[], allowedForSmoke: string) =>
    byGrantee(
      grants.filter(
        (grant) =>
          others.has(grant.grantee) &&
          !(grant.grantee === smoke && grant.privilege === allowedForSmoke),
      ),
    );

  for (const [grantee, privileges] of extra(state?.grants ?? [], "CONNECT")) {
    items.push(
      finding(
        `${grantee} has no ${privileges.join(", ")} on database ${database}`,
        `REVOKE ${privileges.join(", ")} ON DATABASE ${quotedDatabase} FROM ${quoteIdentifier(grantee)}`,
      ),
    );
  }
  for (const [grantee, privileges] of extra(
    state?.schemaGrants ?? [],
    "USAGE",
  )) {
    items.push(
      finding(
        `${grantee} has no ${privileges.join(", ")} on schema ${database}.public`,
        `REVOKE ${privileges.join(", ")} ON SCHEMA public FROM ${quoteIdentifier(grantee)}`,
        database,
      ),
    );
  }
  for (const [grantee, privileges] of extra(
    state?.defaultTableGrants ?? [],
    "SELECT",
  )) {
    items.push(
      finding(
        `tables that ${service.user} creates later in ${database} grant ${grantee} no ${privileges.join(", ")}`,
        `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdentifier(service.user)} REVOKE ${privileges.join(", ")} ON TABLES FROM ${quoteIdentifier(grantee)}`,
        database,
      ),
    );
  }
  items.push(...tableFindings(state, database, others, smoke));
  for (const { role, member } of input.state.memberships) {
    if (role !== service.user || !others.has(member)) continue;
    items.push(
      finding(
        `${member} is not a member of role ${role}`,
        `REVOKE ${quoteIdentifier(role)} FROM ${quoteIdentifier(member)}`,
      ),
    );
  }
  return items;
}

function tableFindings(
  state: DatabaseState | undefined,
  database: string,
  others: Set<string>,
  smoke: string,
): Item[] {
  const byUser = new Map<string, Map<string, string[]>>();
  for (const grant of state?.tableGrants ?? []) {
    if (!others.has(grant.grantee)) continue;
    if (grant.grantee === smoke && grant.privilege === "SELECT") continue;
    const tables = byUser.get(grant.grantee) ?? new Map<string, string[]>();
    tables.set(grant.table, [
      ...(tables.get(grant.table) ?? []),
      grant.privilege,
    ]);
    byUser.set(grant.grantee, tables);
  }
  const items: Item[] = [];
  for (const [grantee, tables] of byUser) {
    const statements = [...tables].map(
      ([table, privileges]) =>
        `REVOKE ${privileges.join(", ")} ON TABLE public.${quoteIdentifier(table)} FROM ${quoteIdentifier(grantee)}`,
    );
    items.push(
      finding(
        `${grantee} has no ${grantee === smoke ? "privileges but SELECT" : "privileges"} on tables in ${database}.public`,
        statements.join("; "),
        database,
      ),
    );
  }
  return items;
}

function finding(subject: string, sql: string, database?: string): Item {
  const where = database ? ` in database ${database}` : "";
  return {
    subject,
    status: "finding",
    reason: `granted outside this command, which revokes only what it created; to restore isolation, run "${sql}"${where} as an admin`,
    statements: [],
  };
}

function byGrantee(grants: Grant[]): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const grant of grants) {
    const privileges = result.get(grant.grantee) ?? [];
    if (!privileges.includes(grant.privilege)) privileges.push(grant.privilege);
    result.set(grant.grantee, privileges);
  }
  return result;
}

/** Returns whether `grants` gives `privilege` to `grantee`. */
export function holds(
  grants: Grant[],
  grantee: string,
  privilege: string,
): boolean {
  return grants.some(
    (grant) => grant.grantee === grantee && grant.privilege === privilege,
  );
}
