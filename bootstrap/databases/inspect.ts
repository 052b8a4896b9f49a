import {
  classifyPostgresError,
  openSession,
} from "../../tools/lib/postgres.js";
import type { AdminConnection } from "./admin.js";
import { adminConnectFailure } from "./failures.js";
import { LIST_DATABASES, LIST_ROLES } from "./dialect.js";
import type { Targets } from "./targets.js";

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
}

/** Server state that the plan compares against, read fresh on every run. */
export interface ServerState {
  roles: Set<string>;
  /** Only databases that exist. */
  databases: Map<string, DatabaseState>;
  /** Whether each stored password still logs in, per user that has one. */
  logins: Map<string, "accepted" | "rejected">;
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
  const dialect = admin.dialect;
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

  const databases = new Map<string, DatabaseState>();
  for (const service of targets.services) {
    if (!existing.has(service.database)) continue;
    const database = service.database;
    const ownerExists = roles.has(service.user);
    databases.set(database, {
      grants: toGrants(await admin.query(dialect.databaseGrants(database))),
      schemaGrants: toGrants(await admin.query(dialect.schemaGrants(database))),
      defaultTableGrants: ownerExists
        ? toGrants(
            await admin.query(
              dialect.defaultTableGrants(database, service.user),
            ),
          )
        : [],
      tables: (
        await admin.query<{ table_name: string; readable: boolean }>(
          dialect.tables(database, targets.smoke.user),
        )
      ).map((row) => ({
        name: row.table_name,
        readable: Boolean(row.readable),
      })),
    });
  }

  const logins = new Map<string, "accepted" | "rejected">();
  for (const [user, password] of storedPasswords) {
    if (!roles.has(user)) continue;
    logins.set(user, await tryLogin(admin, user, password, targets));
  }
  return { roles, databases, logins };
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
      throw adminConnectFailure(error, settings, `${user}@${settings.host}`);
    }
    return "accepted";
  }
}
