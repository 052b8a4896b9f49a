import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  detectDialect,
  grantAllOnDatabase,
  grantOnPublicSchema,
  grantSelectOnAllTables,
  grantSelectOnFutureTables,
  LIST_MEMBERSHIPS,
  quoteIdentifier,
  revokeConnectFromPublic,
  revokeCreateOnPublicSchema,
  revokeTemporaryFromPublic,
  type Dialect,
  type Query,
  type Statement,
} from "../../bootstrap/databases/dialect.js";
import { storesPasswordVerifiers } from "../../bootstrap/databases/admin.js";
import { scramVerifier } from "../../bootstrap/databases/scram.js";
import { openSession, parseDsn } from "../../tools/lib/postgres.js";
import { startPostgres, tryLogin, type TestPostgres } from "./helpers.js";

// Runs the PostgreSQL dialect's statements and queries on a real server, so
// their syntax and their effect on the catalog are both checked.
let server: TestPostgres;
let dialect: Dialect;

beforeAll(async () => {
  server = await startPostgres();
  const { rows } = await server.sql("SELECT version() AS version");
  dialect = detectDialect(rows[0].version);
});

afterAll(async () => {
  await server?.stop();
});

async function run(statement: Statement): Promise<void> {
  await server.sql(statement.sql, statement.database ?? "postgres");
}

async function grants(query: Query): Promise<string[]> {
  const { rows } = await server.sql(
    interpolate(query),
    query.database ?? "postgres",
  );
  return rows.map((row) => `${row.grantee}:${row.privilege_type}`).sort();
}

// server.sql takes no parameters; the tests' names are plain identifiers.
function interpolate(query: Query): string {
  return query.params.reduce<string>(
    (sql, value, index) =>
      sql.replaceAll(`$${index + 1}`, `'${String(value)}'`),
    query.sql,
  );
}

describe("PostgreSQL statements on a real server", () => {
  test("server is PostgreSQL 15 or later", () => {
    expect(dialect.name).toBe("postgresql");
    expect(dialect.publicCanCreateInNewDatabases).toBe(false);
  });

  test("new database lets public connect until revoked", async () => {
    await run(dialect.createDatabase("st_revoke"));
    expect(await grants(dialect.databaseGrants("st_revoke"))).toContain(
      "public:CONNECT",
    );
    await run(revokeConnectFromPublic("st_revoke"));
    await run(revokeCreateOnPublicSchema("st_revoke"));
    expect(await grants(dialect.databaseGrants("st_revoke"))).not.toContain(
      "public:CONNECT",
    );
    expect(await grants(dialect.schemaGrants("st_revoke"))).not.toContain(
      "public:CREATE",
    );
  });

  test("user password with a quote logs in", async () => {
    await run(dialect.createUser("st_quote", "it's-a-password"));
    expect(
      await tryLogin(server.port, "st_quote", "it's-a-password", "postgres"),
    ).toBe("ok");
  });

  test("password change stops the old one", async () => {
    await run(dialect.createUser("st_rotate", "first-password"));
    await run(dialect.setPassword("st_rotate", "second-password"));
    expect(
      await tryLogin(server.port, "st_rotate", "first-password", "postgres"),
    ).toBe("28P01");
    expect(
      await tryLogin(server.port, "st_rotate", "second-password", "postgres"),
    ).toBe("ok");
  });

  test("server stores the verifier that was sent", async () => {
    await run(dialect.createUser("st_verifier", "verifier-password"));
    const { rows } = await server.sql(
      "SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = 'st_verifier'",
    );
    // The test server hashes a password it receives with one iteration,
    // so 4096 shows that it kept the verifier this command computed.
    expect(rows[0].rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(
      await tryLogin(
        server.port,
        "st_verifier",
        "verifier-password",
        "postgres",
      ),
    ).toBe("ok");
  });

  test("cluster setting query fails on PostgreSQL", async () => {
    const session = await openSession(parseDsn(server.adminDsn()));
    try {
      expect(await storesPasswordVerifiers(session)).toBe(false);
      // The failed statement leaves the session usable.
      expect(await session.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    } finally {
      await session.end();
    }
  });

  test("verifier matches the server's own hash", async () => {
    await server.sql("CREATE USER st_reference PASSWORD 'reference-password'");
    const { rows } = await server.sql(
      "SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = 'st_reference'",
    );
    const stored = String(rows[0].rolpassword);
    const match = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored);
    expect(match).not.toBeNull();
    const computed = scramVerifier(
      "reference-password",
      Number(match![1]),
      Buffer.from(match![2]!, "base64"),
    );
    expect(computed).toBe(stored);
  });

  test("ALL on database shows as three privileges", async () => {
    await run(dialect.createDatabase("st_all"));
    await run(dialect.createUser("st_all", "pw-all"));
    await run(grantAllOnDatabase("st_all", "st_all"));
    const held = await grants(dialect.databaseGrants("st_all"));
    for (const privilege of dialect.allDatabasePrivileges) {
      expect(held).toContain(`st_all:${privilege}`);
    }
  });

  test("schema grant shows USAGE and CREATE", async () => {
    await run(dialect.createDatabase("st_schema"));
    await run(dialect.createUser("st_schema", "pw-schema"));
    await run(
      grantOnPublicSchema("st_schema", "st_schema", ["USAGE", "CREATE"]),
    );
    const held = await grants(dialect.schemaGrants("st_schema"));
    expect(held).toContain("st_schema:USAGE");
    expect(held).toContain("st_schema:CREATE");
  });

  test("default privileges cover later tables", async () => {
    await run(dialect.createDatabase("st_default"));
    await run(dialect.createUser("st_owner", "pw-owner"));
    await run(dialect.createUser("st_reader", "pw-reader"));
    await run(grantAllOnDatabase("st_default", "st_owner"));
    await run(
      grantOnPublicSchema("st_default", "st_owner", ["USAGE", "CREATE"]),
    );
    await run(grantSelectOnFutureTables("st_default", "st_owner", "st_reader"));
    // The owner's own privileges are listed too once the ACL is explicit.
    expect(
      await grants(dialect.defaultTableGrants("st_default", "st_owner")),
    ).toContain("st_reader:SELECT");

    await server.sql(
      "SET ROLE st_owner; CREATE TABLE later_table (id int)",
      "st_default",
    );
    const { rows } = await server.sql(
      interpolate(dialect.tables("st_default", "st_reader")),
      "st_default",
    );
    expect(rows).toEqual([{ table_name: "later_table", readable: true }]);
  });

  test("SELECT on all tables covers existing ones", async () => {
    await run(dialect.createDatabase("st_existing"));
    await run(dialect.createUser("st_existing_reader", "pw-existing"));
    await server.sql("CREATE TABLE earlier_table (id int)", "st_existing");
    const tables = dialect.tables("st_existing", "st_existing_reader");
    const before = await server.sql(interpolate(tables), "st_existing");
    expect(before.rows).toEqual([
      { table_name: "earlier_table", readable: false },
    ]);
    await run(grantSelectOnAllTables("st_existing", "st_existing_reader"));
    const after = await server.sql(interpolate(tables), "st_existing");
    expect(after.rows).toEqual([
      { table_name: "earlier_table", readable: true },
    ]);
  });

  test("TEMPORARY revoke stops temporary tables", async () => {
    await run(dialect.createDatabase("st_temp"));
    await run(dialect.createUser("st_temp_user", "pw-temp"));
    expect(await grants(dialect.databaseGrants("st_temp"))).toContain(
      "public:TEMPORARY",
    );
    await run(revokeTemporaryFromPublic("st_temp"));
    expect(await grants(dialect.databaseGrants("st_temp"))).not.toContain(
      "public:TEMPORARY",
    );
  });

  test("table grants and memberships are read", async () => {
    await run(dialect.createDatabase("st_cross"));
    await run(dialect.createUser("st_cross_a", "pw-a"));
    await run(dialect.createUser("st_cross_b", "pw-b"));
    await server.sql(
      "CREATE TABLE shared (id int); GRANT SELECT, INSERT ON shared TO st_cross_b",
      "st_cross",
    );
    await server.sql("GRANT st_cross_a TO st_cross_b");
    const { rows } = await server.sql(
      interpolate(dialect.tableGrants("st_cross", ["st_cross_b"])).replace(
        "'st_cross_b'",
        "ARRAY['st_cross_b']",
      ),
      "st_cross",
    );
    expect(
      rows.map(
        (row) => `${row.table_name}:${row.grantee}:${row.privilege_type}`,
      ),
    ).toEqual(["shared:st_cross_b:INSERT", "shared:st_cross_b:SELECT"]);
    const members = await server.sql(LIST_MEMBERSHIPS);
    expect(members.rows).toContainEqual({
      role: "st_cross_a",
      member: "st_cross_b",
    });
  });

  test("quoted identifiers survive odd names", async () => {
    await run(dialect.createDatabase('st "odd"'));
    const { rows } = await server.sql(
      `SELECT datname FROM pg_database WHERE datname = 'st "odd"'`,
    );
    expect(rows).toHaveLength(1);
    expect(quoteIdentifier('st "odd"')).toBe('"st ""odd"""');
  });

  test("second CREATE DATABASE fails without a catalog check", async () => {
    await run(dialect.createDatabase("st_twice"));
    await expect(run(dialect.createDatabase("st_twice"))).rejects.toMatchObject(
      {
        code: "42P04",
      },
    );
  });
});
