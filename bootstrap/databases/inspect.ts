import {
  classifyPostgresError,
  openSession,
} from "../../tools/lib/postgres.js";
import type { AdminConnection } from "./admin.js";
import { adminConnectFailure } from "./failures.js";
import { LIST_DATABASES, LIST_MEMBERSHIPS, LIST_ROLES } from "./dialect.js";
import type { ServiceTarget, Targets } from "./targets.js";

/** One privilege held by one role; role names are as the server lists them. */
export interface Grant {
  grantee: string;
  privilege: string;
}

export interface DatabaseState {
  grants: Grant[];
  /** Grants on the database's public schema. */
  schemaGrants: Grant[];
  /** The owning service user's default privileges on future tables. */
  defaultTableGrants: Grant[];
  /** Tables and views in the public schema, and whether the smoke user can read each. */
  tables: { name: string; readable: boolean }[];
  /** Privileges on tables in the public schema held by this command's users. */
  tableGrants: (Grant & { table: string })[];
}

/** Server state that the plan compares against, read fresh on every run. */
export interface ServerState {
  roles: Set<string>;
  /** Only databases that exist. */
  databases: Map<string, DatabaseState>;
  /** Whether each stored password still logs in, per user that has one. */
  logins: Map<string, "accepted" | "rejected">;
  /** Role memberships among this command's users: `member` inherits `role`. */
  memberships: { role: string; member: string }[];
}

/**
 * Reads roles, databases and privileges that the plan compares against,
 * and tries each stored password, so the plan can tell whether a rotation was
 * cut short.
 */
export async function inspectServer(
  admin: AdminConnection,
  targets: Targets,
  storedPasswords: Map<string, string>,
): Promise<ServerState> {
  const roleRows = await admin.query<{ rolname: string }>({
    sql: LIST_ROLES,
    params: [],
    database: null,
  });
  const roles = new Set(roleRows.map((row) => row.rolname));
  const databaseRows = await admin.query<{ datname: string }>({
    sql: LIST_DATABASES,
    params: [],
    database: null,
  });
  const existing = new Set(databaseRows.map((row) => row.datname));

  const managedUsers = [
    ...targets.services.map((service) => service.user),
    targets.smoke.user,
  ];
  // Databases and logins are inspected concurrently, because each waits
  // mostly on round trips and on the server forking a backend.
  const present = targets.services.filter((service) =>
    existing.has(service.database),
  );
  const states = await settleAll(
    present.map((service) =>
      inspectDatabase(admin, service, roles, targets.smoke.user, managedUsers),
    ),
  );
  const databases = new Map(
    present.map((service, index) => [service.database, states[index]!]),
  );

  const membershipRows = await admin.query<{ role: string; member: string }>({
    sql: LIST_MEMBERSHIPS,
    params: [],
    database: null,
  });
  const memberships = membershipRows.filter(
    (row) =>
      managedUsers.includes(row.role) && managedUsers.includes(row.member),
  );

  const tried = [...storedPasswords].filter(([user]) => roles.has(user));
  const results = await settleAll(
    tried.map(([user, password]) => tryLogin(admin, user, password, targets)),
  );
  const logins = new Map(tried.map(([user], index) => [user, results[index]!]));
  return { roles, databases, logins, memberships };
}

async function inspectDatabase(
  admin: AdminConnection,
  service: ServiceTarget,
  roles: Set<string>,
  smokeUser: string,
  managedUsers: string[],
): Promise<DatabaseState> {
  const { dialect } = admin;
  const database = service.database;
  const grants = toGrants(await admin.query(dialect.databaseGrants(database)));
  const schemaGrants = toGrants(
    await admin.query(dialect.schemaGrants(database)),
  );
  const defaultTableGrants = roles.has(service.user)
    ? toGrants(
        await admin.query(dialect.defaultTableGrants(database, service.user)),
      )
    : [];
  const tableRows = await admin.query<{
    table_name: string;
    readable: boolean;
  }>(dialect.tables(database, smokeUser));
  const tableGrantRows = await admin.query<{ table_name: string }>(
    dialect.tableGrants(database, managedUsers),
  );
  return {
    grants,
    schemaGrants,
    defaultTableGrants,
    tables: tableRows.map((row) => ({
      name: row.table_name,
      readable: Boolean(row.readable),
    })),
    tableGrants: tableGrantRows.map((row) => ({
      table: row.table_name,
      ...toGrants([row])[0]!,
    })),
  };
}

/**
 * Waits for every promise, then returns their values or throws the first
 * error, so that no query still runs when the caller closes the sessions.
 */
async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failure = results.find((result) => result.status === "rejected");
  if (failure) throw failure.reason;
  return results.map((result) => (result as PromiseFulfilledResult<T>).value);
}

function toGrants(rows: Record<string, unknown>[]): Grant[] {
  return rows.map((row) => ({
    grantee: String(row.grantee),
    privilege: String(row.privilege_type).toUpperCase(),
  }));
}

/**
 * Logs in as `user`. The server checks the password before it looks at the
 * database, so any later error (no such database, no CONNECT) still means
 * the password was accepted.
 */
async function tryLogin(
  admin: AdminConnection,
  user: string,
  password: string,
  targets: Targets,
): Promise<"accepted" | "rejected"> {
  const own = targets.services.find((service) => service.user === user);
  const settings = admin.settingsFor(
    user,
    password,
    own?.database ?? admin.settings.database,
  );
  try {
    const session = await openSession(settings);
    await session.end();
    return "accepted";
  } catch (error) {
    const failure = classifyPostgresError(error);
    if (failure === "authentication") return "rejected";
    if (failure === "unreachable" || failure === "certificate") {
      throw adminConnectFailure(error, settings, {
        shownDsn: `${user}@${settings.host}`,
        source: `the DSN in the Secret of user ${user}`,
      });
    }
    return "accepted";
  }
}
