import { EXIT_CANNOT_START, ToolError } from "../../tools/lib/errors.js";
import type { AdminConnection } from "./admin.js";
import { quoteIdentifier } from "./dialect.js";
import type { Targets } from "./targets.js";

/**
 * Rejects an admin user that lacks a privilege some statement of the run
 * needs, before the plan is shown and before anything is written. Every
 * missing privilege is listed in one ToolError with exit 2.
 *
 * On PostgreSQL 16 and later, a non-superuser admin with CREATEDB and
 * CREATEROLE gets `createrole_self_grant = 'set, inherit'` in its session,
 * so that it becomes a member of each role it creates: ALTER DEFAULT
 * PRIVILEGES FOR ROLE needs that membership.
 */
export async function checkAdminPrivileges(
  admin: AdminConnection,
  targets: Targets,
): Promise<void> {
  const missing =
    admin.dialect.name === "cockroachdb"
      ? await missingOnCockroach(admin)
      : await missingOnPostgres(admin, targets);
  if (missing.length === 0) return;
  const user = admin.settings.user;
  throw new ToolError(
    `the admin user "${user}" lacks privileges that this command needs:\n` +
      missing.map((line) => `  - ${line}`).join("\n") +
      `\nGrant them to "${user}", or connect as a superuser (PostgreSQL) or a member of the admin role (CockroachDB). Nothing was written`,
    EXIT_CANNOT_START,
  );
}

// NOTE: crdb_internal.is_admin() is documented by CockroachDB but has not
// run against a CockroachDB server in this repository's tests.
async function missingOnCockroach(admin: AdminConnection): Promise<string[]> {
  const [row] = await admin.query<{ admin: boolean }>({
    sql: "SELECT crdb_internal.is_admin() AS admin",
    params: [],
    database: null,
  });
  if (row?.admin) return [];
  const user = quoteIdentifier(admin.settings.user);
  return [`membership in the admin role (GRANT admin TO ${user})`];
}

interface PostgresAdmin extends Record<string, unknown> {
  rolsuper: boolean;
  rolcreatedb: boolean;
  rolcreaterole: boolean;
}

async function missingOnPostgres(
  admin: AdminConnection,
  targets: Targets,
): Promise<string[]> {
  const [self] = await admin.query<PostgresAdmin>({
    sql: "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_catalog.pg_roles WHERE rolname = current_user",
    params: [],
    database: null,
  });
  if (self?.rolsuper) return [];

  const user = quoteIdentifier(admin.settings.user);
  const missing: string[] = [];
  if (!self?.rolcreatedb) {
    missing.push(`CREATEDB, to create databases (ALTER ROLE ${user} CREATEDB)`);
  }
  if (!self?.rolcreaterole) {
    missing.push(
      `CREATEROLE, to create users and set their passwords (ALTER ROLE ${user} CREATEROLE)`,
    );
  }
  const major = admin.dialect.majorVersion;
  if (major >= 16) {
    await admin.run({
      sql: "SET createrole_self_grant = 'set, inherit'",
      shown: "SET createrole_self_grant = 'set, inherit'",
      database: null,
      secrets: [],
    });
  }

  const serviceUsers = new Set(targets.services.map((s) => s.user));
  const users = [...serviceUsers, targets.smoke.user];
  const roles = await admin.query<{
    rolname: string;
    can_set: boolean;
    can_admin: boolean;
  }>({
    sql:
      `SELECT rolname, pg_has_role(current_user, oid, '${major >= 16 ? "SET" : "MEMBER"}') AS can_set,` +
      " pg_has_role(current_user, oid, 'MEMBER WITH ADMIN OPTION') AS can_admin" +
      " FROM pg_catalog.pg_roles WHERE rolname = ANY($1::text[])",
    params: [users],
    database: null,
  });
  const existing = new Set(roles.map((role) => role.rolname));
  for (const role of roles) {
    const name = quoteIdentifier(role.rolname);
    if (serviceUsers.has(role.rolname) && !role.can_set) {
      missing.push(
        `membership in role ${name}, for ALTER DEFAULT PRIVILEGES FOR ROLE ${name} (GRANT ${name} TO ${user}${major >= 16 ? " WITH SET TRUE, INHERIT TRUE" : ""})`,
      );
    }
    if (major >= 16 && !role.can_admin) {
      missing.push(
        `ADMIN OPTION on role ${name}, to set its password (GRANT ${name} TO ${user} WITH ADMIN TRUE)`,
      );
    }
  }
  const toCreate = [...serviceUsers].filter((name) => !existing.has(name));
  if (major < 16 && toCreate.length > 0) {
    missing.push(
      `superuser: before PostgreSQL 16 a CREATEROLE user does not become a member of the roles it creates (${toCreate.join(", ")}), ` +
        "and ALTER DEFAULT PRIVILEGES FOR ROLE needs that membership",
    );
  }

  const databases = await admin.query<{ datname: string; granted: boolean }>({
    sql:
      "SELECT datname, has_database_privilege(oid, 'CREATE WITH GRANT OPTION')" +
      " AND has_database_privilege(oid, 'CONNECT WITH GRANT OPTION')" +
      " AND has_database_privilege(oid, 'TEMPORARY WITH GRANT OPTION') AS granted" +
      " FROM pg_catalog.pg_database WHERE datname = ANY($1::text[])",
    params: [targets.services.map((s) => s.database)],
    database: null,
  });
  for (const database of databases) {
    if (database.granted) continue;
    missing.push(
      `ownership of database ${quoteIdentifier(database.datname)}, or its privileges WITH GRANT OPTION, to grant them to the service user ` +
        `(ALTER DATABASE ${quoteIdentifier(database.datname)} OWNER TO ${user})`,
    );
  }
  return missing;
}
