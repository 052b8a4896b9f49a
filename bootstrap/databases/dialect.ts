import { EXIT_CANNOT_START, ToolError } from "../../tools/lib/errors.js";
import { scramVerifier } from "./scram.js";

/**
 * SQL text for CockroachDB and PostgreSQL. Statements here are plain data,
 * so tests can check them without a server; inspect.ts and apply.ts run them.
 */
export type DialectName = "cockroachdb" | "postgresql";

/** One statement that the admin user runs. */
export interface Statement {
  /** Text sent to the server; it may contain a password. */
  sql: string;
  /** Text for plans and logs, with any password replaced by ***. */
  shown: string;
  /** Database whose connection runs it; null for the admin DSN's database. */
  database: string | null;
  /** Values in `sql` to scrub from any error the server returns. */
  secrets: string[];
}

/** A read-only query with positional parameters. */
export interface Query {
  sql: string;
  params: unknown[];
  /** Database whose connection runs it; null for the admin DSN's database. */
  database: string | null;
}

export interface Dialect {
  name: DialectName;
  /** The server's version() text. */
  version: string;
  /** Major version number, e.g. 24 for CockroachDB v24.1, 16 for PostgreSQL 16.2. */
  majorVersion: number;
  /** Privileges that together make ALL on a database, as grants list them. */
  allDatabasePrivileges: readonly string[];
  /** Whether a new database lets public CREATE in its public schema. */
  publicCanCreateInNewDatabases: boolean;
  /** Whether the server checks CONNECT when a session opens. */
  checksConnect: boolean;
  /**
   * Whether databases have a TEMPORARY privilege, which PostgreSQL grants to
   * public on every new database. CockroachDB has no such privilege.
   */
  hasTemporaryPrivilege: boolean;
  /**
   * Whether the server stores a SCRAM-SHA-256 verifier given as a password
   * as the user's hash, instead of hashing the verifier text.
   */
  storesPasswordVerifiers: boolean;
  createDatabase(database: string): Statement;
  createUser(user: string, password: string): Statement;
  setPassword(user: string, password: string): Statement;
  /** Rows: grantee, privilege_type. */
  databaseGrants(database: string): Query;
  /** Rows: grantee, privilege_type, for the public schema of `database`. */
  schemaGrants(database: string): Query;
  /** Rows: grantee, privilege_type, of `owner`'s default privileges on tables. */
  defaultTableGrants(database: string, owner: string): Query;
  /** Rows: table_name, readable (whether `reader` has SELECT on it). */
  tables(database: string, reader: string): Query;
  /** Rows: table_name, grantee, privilege_type, for grantees in `users`. */
  tableGrants(database: string, users: string[]): Query;
}

/** Lists the existing roles; the same catalog view exists on both servers. */
export const LIST_ROLES = "SELECT rolname FROM pg_catalog.pg_roles";
/** Lists the existing databases. */
export const LIST_DATABASES = "SELECT datname FROM pg_catalog.pg_database";
/**
 * Lists role memberships (rows: role, member); CockroachDB implements
 * pg_auth_members too.
 */
export const LIST_MEMBERSHIPS =
  "SELECT r.rolname AS role, m.rolname AS member FROM pg_catalog.pg_auth_members AS a" +
  " JOIN pg_catalog.pg_roles AS r ON r.oid = a.roleid JOIN pg_catalog.pg_roles AS m ON m.oid = a.member";

/** Quotes an identifier, so reserved words and any case survive. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal (standard_conforming_strings, on by default in both). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Picks the dialect from the text of `SELECT version()`. CockroachDB
 * returns "CockroachDB CCL v24.1.0 (...)", PostgreSQL "PostgreSQL 16.2 on ...".
 */
export function detectDialect(version: string): Dialect {
  if (/CockroachDB/i.test(version)) return cockroachDialect(version);
  const match = /^PostgreSQL (\d+)/.exec(version);
  if (match) return postgresDialect(version, Number(match[1]));
  throw new ToolError(
    `the server's version "${version}" is neither CockroachDB nor PostgreSQL; point --admin-dsn at the CockroachDB cluster`,
    EXIT_CANNOT_START,
  );
}

/**
 * Builds a statement that sets a password through its SCRAM-SHA-256
 * verifier where the server stores one as sent, so the password itself
 * never reaches the server's statement log. Otherwise, and for a password
 * the verifier cannot encode, the statement carries the password.
 */
function passwordStatement(
  prefix: string,
  user: string,
  password: string,
  storesVerifiers: boolean,
): Statement {
  const head = `${prefix} ${quoteIdentifier(user)} WITH PASSWORD`;
  const value = (storesVerifiers && scramVerifier(password)) || password;
  return {
    sql: `${head} ${quoteLiteral(value)}`,
    shown: `${head} '***'`,
    database: null,
    secrets: value === password ? [password] : [value, password],
  };
}

function plain(sql: string, database: string | null = null): Statement {
  return { sql, shown: sql, database, secrets: [] };
}

/**
 * CockroachDB has IF NOT EXISTS for databases and users.
 * NOTE: no CockroachDB server runs in this repository's tests, so these
 * texts are checked as strings only. The SHOW statements' column names are
 * those that CockroachDB 23.1 to 24.1 document.
 */
export function cockroachDialect(
  version: string,
  storesPasswordVerifiers = false,
): Dialect {
  return {
    name: "cockroachdb",
    version,
    majorVersion: Number(/\bv(\d+)\./.exec(version)?.[1] ?? 0),
    allDatabasePrivileges: ["ALL"],
    publicCanCreateInNewDatabases: true,
    checksConnect: false,
    hasTemporaryPrivilege: false,
    storesPasswordVerifiers,
    createDatabase: (database) =>
      plain(`CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database)}`),
    createUser: (user, password) =>
      passwordStatement(
        "CREATE USER IF NOT EXISTS",
        user,
        password,
        storesPasswordVerifiers,
      ),
    setPassword: (user, password) =>
      passwordStatement("ALTER USER", user, password, storesPasswordVerifiers),
    databaseGrants: (database) => ({
      sql: `SELECT grantee, privilege_type FROM [SHOW GRANTS ON DATABASE ${quoteIdentifier(database)}]`,
      params: [],
      database: null,
    }),
    schemaGrants: (database) => ({
      sql: "SELECT grantee, privilege_type FROM [SHOW GRANTS ON SCHEMA public]",
      params: [],
      database,
    }),
    defaultTableGrants: (database, owner) => ({
      sql: `SELECT grantee, privilege_type FROM [SHOW DEFAULT PRIVILEGES FOR ROLE ${quoteIdentifier(owner)}] WHERE object_type = 'tables'`,
      params: [],
      database,
    }),
    tables: (database, reader) => ({
      sql:
        "SELECT t.table_name, EXISTS (SELECT 1 FROM information_schema.table_privileges AS p" +
        " WHERE p.table_catalog = t.table_catalog AND p.table_schema = t.table_schema" +
        " AND p.table_name = t.table_name AND p.grantee = $1" +
        " AND p.privilege_type IN ('SELECT', 'ALL')) AS readable" +
        " FROM information_schema.tables AS t" +
        " WHERE t.table_catalog = current_database() AND t.table_schema = 'public'" +
        " AND t.table_type IN ('BASE TABLE', 'VIEW') ORDER BY t.table_name",
      params: [reader],
      database,
    }),
    tableGrants: (database, users) => ({
      sql:
        "SELECT table_name, grantee, privilege_type FROM information_schema.table_privileges" +
        " WHERE table_catalog = current_database() AND table_schema = 'public'" +
        " AND grantee = ANY($1::STRING[]) ORDER BY table_name, grantee, privilege_type",
      params: [users],
      database,
    }),
  };
}

// PUBLIC appears as grantee 0 in an ACL; name it like CockroachDB does.
const GRANTEE =
  "CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_get_userbyid(a.grantee) END";

/**
 * PostgreSQL has no IF NOT EXISTS for roles, and CREATE DATABASE cannot run
 * in a transaction or a DO block, so the plan checks the catalog first.
 */
export function postgresDialect(version: string, major: number): Dialect {
  return {
    name: "postgresql",
    version,
    majorVersion: major,
    allDatabasePrivileges: ["CREATE", "TEMPORARY", "CONNECT"],
    // PostgreSQL 15 stopped granting CREATE on the public schema to PUBLIC.
    publicCanCreateInNewDatabases: major < 15,
    checksConnect: true,
    hasTemporaryPrivilege: true,
    // PostgreSQL 10 added SCRAM and stores a value in verifier form as is.
    storesPasswordVerifiers: major >= 10,
    createDatabase: (database) =>
      plain(`CREATE DATABASE ${quoteIdentifier(database)}`),
    createUser: (user, password) =>
      passwordStatement("CREATE USER", user, password, major >= 10),
    setPassword: (user, password) =>
      passwordStatement("ALTER USER", user, password, major >= 10),
    databaseGrants: (database) => ({
      sql:
        `SELECT ${GRANTEE} AS grantee, a.privilege_type FROM pg_catalog.pg_database AS d,` +
        " aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) AS a WHERE d.datname = $1",
      params: [database],
      database: null,
    }),
    schemaGrants: (database) => ({
      sql:
        `SELECT ${GRANTEE} AS grantee, a.privilege_type FROM pg_catalog.pg_namespace AS n,` +
        " aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) AS a WHERE n.nspname = 'public'",
      params: [],
      database,
    }),
    defaultTableGrants: (database, owner) => ({
      sql:
        `SELECT ${GRANTEE} AS grantee, a.privilege_type FROM pg_catalog.pg_default_acl AS d,` +
        " aclexplode(d.defaclacl) AS a WHERE d.defaclobjtype = 'r' AND d.defaclnamespace = 0" +
        " AND pg_get_userbyid(d.defaclrole) = $1",
      params: [owner],
      database,
    }),
    tables: (database, reader) => ({
      sql:
        "SELECT c.relname AS table_name, EXISTS (SELECT 1 FROM" +
        " aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) AS a" +
        " JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee" +
        " WHERE r.rolname = $1 AND a.privilege_type = 'SELECT') AS readable" +
        " FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace" +
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname",
      params: [reader],
      database,
    }),
    tableGrants: (database, users) => ({
      sql:
        `SELECT c.relname AS table_name, ${GRANTEE} AS grantee, a.privilege_type FROM pg_catalog.pg_class AS c` +
        " JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace," +
        " aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) AS a" +
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')" +
        " AND pg_get_userbyid(a.grantee) = ANY($1::text[]) ORDER BY 1, 2, 3",
      params: [users],
      database,
    }),
  };
}

// The statements below read the same on both servers. Schema statements run
// in the target database's connection, because `public` is per database.

export function grantAllOnDatabase(database: string, user: string): Statement {
  return plain(
    `GRANT ALL ON DATABASE ${quoteIdentifier(database)} TO ${quoteIdentifier(user)}`,
  );
}

export function grantOnPublicSchema(
  database: string,
  user: string,
  privileges: readonly string[],
): Statement {
  return plain(
    `GRANT ${privileges.join(", ")} ON SCHEMA public TO ${quoteIdentifier(user)}`,
    database,
  );
}

export function revokeConnectFromPublic(database: string): Statement {
  return plain(
    `REVOKE CONNECT ON DATABASE ${quoteIdentifier(database)} FROM public`,
  );
}

export function revokeTemporaryFromPublic(database: string): Statement {
  return plain(
    `REVOKE TEMPORARY ON DATABASE ${quoteIdentifier(database)} FROM public`,
  );
}

export function revokeCreateOnPublicSchema(database: string): Statement {
  return plain("REVOKE CREATE ON SCHEMA public FROM public", database);
}

export function grantConnect(database: string, user: string): Statement {
  return plain(
    `GRANT CONNECT ON DATABASE ${quoteIdentifier(database)} TO ${quoteIdentifier(user)}`,
  );
}

export function grantSelectOnAllTables(
  database: string,
  user: string,
): Statement {
  return plain(
    `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${quoteIdentifier(user)}`,
    database,
  );
}

/** Grants SELECT on tables that `owner` creates later in `database`. */
export function grantSelectOnFutureTables(
  database: string,
  owner: string,
  user: string,
): Statement {
  return plain(
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdentifier(owner)} GRANT SELECT ON TABLES TO ${quoteIdentifier(user)}`,
    database,
  );
}
