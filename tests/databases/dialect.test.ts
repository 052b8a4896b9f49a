import { describe, expect, test } from "vitest";
import {
  cockroachDialect,
  detectDialect,
  grantAllOnDatabase,
  grantConnect,
  grantOnPublicSchema,
  grantSelectOnAllTables,
  grantSelectOnFutureTables,
  postgresDialect,
  quoteIdentifier,
  quoteLiteral,
  revokeConnectFromPublic,
  revokeCreateOnPublicSchema,
} from "../../bootstrap/databases/dialect.js";
import { storesPasswordVerifiers } from "../../bootstrap/databases/admin.js";
import { ToolError } from "../../tools/lib/errors.js";
import type { SqlSession } from "../../tools/lib/postgres.js";

const COCKROACH_VERSION =
  "CockroachDB CCL v24.1.4 (x86_64-pc-linux-gnu, built 2024/08/29 17:00:00, go1.22.5 X:nocoverageredesign)";
const POSTGRES_VERSION =
  "PostgreSQL 16.4 on x86_64-pc-linux-gnu, compiled by gcc 12.2.0, 64-bit";

describe("detectDialect", () => {
  test("CockroachDB version string", () => {
    const dialect = detectDialect(COCKROACH_VERSION);
    expect(dialect.name).toBe("cockroachdb");
    expect(dialect.checksConnect).toBe(false);
    expect(dialect.publicCanCreateInNewDatabases).toBe(true);
    expect(dialect.allDatabasePrivileges).toEqual(["ALL"]);
  });

  test("PostgreSQL 16 version string", () => {
    const dialect = detectDialect(POSTGRES_VERSION);
    expect(dialect.name).toBe("postgresql");
    expect(dialect.checksConnect).toBe(true);
    expect(dialect.publicCanCreateInNewDatabases).toBe(false);
  });

  test("PostgreSQL 14 lets public create in public", () => {
    const dialect = detectDialect(
      "PostgreSQL 14.11 on aarch64-unknown-linux-gnu",
    );
    expect(dialect.publicCanCreateInNewDatabases).toBe(true);
  });

  test("unknown server is exit 2", () => {
    expect(() => detectDialect("MySQL 8.0.36")).toThrow(ToolError);
    try {
      detectDialect("MySQL 8.0.36");
    } catch (error) {
      expect((error as ToolError).exitCode).toBe(2);
      expect((error as Error).message).toContain("MySQL 8.0.36");
    }
  });
});

describe("CockroachDB statements", () => {
  const dialect = cockroachDialect(COCKROACH_VERSION);

  test("database uses IF NOT EXISTS", () => {
    expect(dialect.createDatabase("hydra").sql).toBe(
      'CREATE DATABASE IF NOT EXISTS "hydra"',
    );
  });

  test("user uses IF NOT EXISTS and masks the password", () => {
    const statement = dialect.createUser("hydra", "Secret123");
    expect(statement.sql).toBe(
      `CREATE USER IF NOT EXISTS "hydra" WITH PASSWORD 'Secret123'`,
    );
    expect(statement.shown).toBe(
      `CREATE USER IF NOT EXISTS "hydra" WITH PASSWORD '***'`,
    );
    expect(statement.secrets).toEqual(["Secret123"]);
    expect(statement.database).toBeNull();
  });

  test("major version and no TEMPORARY", () => {
    expect(dialect.majorVersion).toBe(24);
    expect(dialect.hasTemporaryPrivilege).toBe(false);
  });

  test("table grants read information_schema", () => {
    const query = dialect.tableGrants("hydra", ["kratos"]);
    expect(query.sql).toContain("FROM information_schema.table_privileges");
    expect(query.sql).toContain("grantee = ANY($1::STRING[])");
    expect(query.params).toEqual([["kratos"]]);
    expect(query.database).toBe("hydra");
  });

  test("password change", () => {
    const statement = dialect.setPassword("kratos", "New456");
    expect(statement.sql).toBe(`ALTER USER "kratos" WITH PASSWORD 'New456'`);
    expect(statement.shown).not.toContain("New456");
  });

  test("verifier when the cluster stores them", () => {
    const storing = cockroachDialect(COCKROACH_VERSION, true);
    const statement = storing.setPassword("kratos", "New456");
    expect(statement.sql).toMatch(
      /^ALTER USER "kratos" WITH PASSWORD 'SCRAM-SHA-256\$4096:/,
    );
    expect(statement.sql).not.toContain("New456");
    expect(statement.shown).toBe(`ALTER USER "kratos" WITH PASSWORD '***'`);
  });

  test("grant queries use SHOW GRANTS", () => {
    const database = dialect.databaseGrants("keto");
    expect(database.sql).toBe(
      'SELECT grantee, privilege_type FROM [SHOW GRANTS ON DATABASE "keto"]',
    );
    expect(database.database).toBeNull();
    const schema = dialect.schemaGrants("keto");
    expect(schema.sql).toBe(
      "SELECT grantee, privilege_type FROM [SHOW GRANTS ON SCHEMA public]",
    );
    expect(schema.database).toBe("keto");
  });

  test("default privileges query filters tables", () => {
    const query = dialect.defaultTableGrants("keto", "keto");
    expect(query.sql).toBe(
      `SELECT grantee, privilege_type FROM [SHOW DEFAULT PRIVILEGES FOR ROLE "keto"] WHERE object_type = 'tables'`,
    );
    expect(query.database).toBe("keto");
  });

  test("tables query reads information_schema", () => {
    const query = dialect.tables("hydra", "ory_smoke");
    expect(query.sql).toContain("FROM information_schema.tables AS t");
    expect(query.sql).toContain("information_schema.table_privileges");
    expect(query.sql).toContain("t.table_catalog = current_database()");
    expect(query.params).toEqual(["ory_smoke"]);
    expect(query.database).toBe("hydra");
  });
});

describe("PostgreSQL statements", () => {
  const dialect = postgresDialect(POSTGRES_VERSION, 16);

  test("database has no IF NOT EXISTS", () => {
    expect(dialect.createDatabase("hydra").sql).toBe('CREATE DATABASE "hydra"');
  });

  test("user has no IF NOT EXISTS and sends a verifier", () => {
    const statement = dialect.createUser("hydra", "Secret123");
    expect(statement.sql).toMatch(
      /^CREATE USER "hydra" WITH PASSWORD 'SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+'$/,
    );
    expect(statement.sql).not.toContain("Secret123");
    expect(statement.shown).toBe(`CREATE USER "hydra" WITH PASSWORD '***'`);
    expect(statement.secrets).toContain("Secret123");
  });

  test("password outside printable ASCII is sent as is", () => {
    const statement = dialect.setPassword("hydra", "Geheimnis\u00e4");
    expect(statement.sql).toBe(
      `ALTER USER "hydra" WITH PASSWORD 'Geheimnis\u00e4'`,
    );
  });

  test("PostgreSQL 9 gets the password", () => {
    const old = postgresDialect("PostgreSQL 9.6.24 on x86_64", 9);
    expect(old.storesPasswordVerifiers).toBe(false);
    expect(old.createUser("hydra", "Secret123").sql).toBe(
      `CREATE USER "hydra" WITH PASSWORD 'Secret123'`,
    );
  });

  test("grant queries read ACLs", () => {
    const query = dialect.databaseGrants("hydra");
    expect(query.sql).toContain(
      "aclexplode(coalesce(d.datacl, acldefault('d', d.datdba)))",
    );
    expect(query.params).toEqual(["hydra"]);
    expect(query.database).toBeNull();
    expect(dialect.schemaGrants("hydra").database).toBe("hydra");
  });

  test("ALL means CREATE, TEMPORARY, CONNECT", () => {
    expect(dialect.allDatabasePrivileges).toEqual([
      "CREATE",
      "TEMPORARY",
      "CONNECT",
    ]);
  });
});

describe("statements shared by both servers", () => {
  test("grants and revokes", () => {
    expect(grantAllOnDatabase("hydra", "hydra").sql).toBe(
      'GRANT ALL ON DATABASE "hydra" TO "hydra"',
    );
    expect(revokeConnectFromPublic("hydra").sql).toBe(
      'REVOKE CONNECT ON DATABASE "hydra" FROM public',
    );
    expect(grantConnect("hydra", "ory_smoke").sql).toBe(
      'GRANT CONNECT ON DATABASE "hydra" TO "ory_smoke"',
    );
  });

  test("schema statements run in their database", () => {
    const grant = grantOnPublicSchema("kratos", "kratos", ["USAGE", "CREATE"]);
    expect(grant.sql).toBe('GRANT USAGE, CREATE ON SCHEMA public TO "kratos"');
    expect(grant.database).toBe("kratos");
    const revoke = revokeCreateOnPublicSchema("kratos");
    expect(revoke.sql).toBe("REVOKE CREATE ON SCHEMA public FROM public");
    expect(revoke.database).toBe("kratos");
    const select = grantSelectOnAllTables("kratos", "ory_smoke");
    expect(select.sql).toBe(
      'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "ory_smoke"',
    );
    expect(select.database).toBe("kratos");
  });

  test("default privileges name the owner", () => {
    const statement = grantSelectOnFutureTables("keto", "keto", "ory_smoke");
    expect(statement.sql).toBe(
      'ALTER DEFAULT PRIVILEGES FOR ROLE "keto" GRANT SELECT ON TABLES TO "ory_smoke"',
    );
    expect(statement.database).toBe("keto");
  });

  test("quoting doubles quote characters", () => {
    expect(quoteIdentifier('we"ird')).toBe('"we""ird"');
    expect(quoteLiteral("it's")).toBe("'it''s'");
  });
});

describe("storesPasswordVerifiers", () => {
  // Returns, for the one SHOW CLUSTER SETTING query, what node-postgres
  // reads from CockroachDB: one row, one column named after the setting.
  function session(value: unknown): SqlSession {
    return {
      query: async <Row extends Record<string, unknown>>(sql: string) => {
        expect(sql).toBe(
          "SHOW CLUSTER SETTING server.user_login.store_client_pre_hashed_passwords.enabled",
        );
        if (value instanceof Error) throw value;
        return [
          {
            "server.user_login.store_client_pre_hashed_passwords.enabled":
              value,
          },
        ] as unknown as Row[];
      },
      end: async () => {},
    };
  }

  test("setting on", async () => {
    expect(await storesPasswordVerifiers(session(true))).toBe(true);
  });

  test("setting off", async () => {
    expect(await storesPasswordVerifiers(session(false))).toBe(false);
  });

  test("setting not readable", async () => {
    const denied = new Error("user admin does not have VIEWCLUSTERSETTING");
    expect(await storesPasswordVerifiers(session(denied))).toBe(false);
  });
});
