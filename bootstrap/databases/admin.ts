import { randomBytes } from "node:crypto";
import { EXIT_CANNOT_START, ToolError } from "../../tools/lib/errors.js";
import {
  classifyPostgresError,
  openSession,
  readServerCertificateNames,
  redactDsn,
  type ConnectionSettings,
  type SqlSession,
} from "../../tools/lib/postgres.js";
import {
  cockroachDialect,
  detectDialect,
  type Dialect,
  type Query,
  type Statement,
} from "./dialect.js";
import {
  INSECURE_CLUSTER,
  adminConnectFailure,
  statementFailure,
  type DsnOrigin,
} from "./failures.js";

/** application_name of every session this command opens. */
export const APPLICATION_NAME = "bootstrap-databases";

/**
 * The admin user's sessions, one per database, opened on first use. Schema
 * privileges and default privileges live inside a database, so statements
 * on them run in that database's session.
 */
export class AdminConnection {
  private readonly sessions = new Map<string, SqlSession>();

  private constructor(
    readonly settings: ConnectionSettings,
    readonly dialect: Dialect,
    private readonly origin: DsnOrigin,
    defaultSession: SqlSession,
  ) {
    this.sessions.set("", defaultSession);
  }

  /**
   * Connects, detects the dialect from version(), and rejects an insecure
   * CockroachDB cluster. Throws a ToolError with exit 2 on any failure.
   * `source` names the flag or environment variable that held the DSN.
   */
  static async open(dsn: string, settings: ConnectionSettings, source: string) {
    const admin = { ...settings, applicationName: APPLICATION_NAME };
    const origin = { shownDsn: redactDsn(dsn), source };
    let session: SqlSession;
    try {
      session = await openSession(admin);
    } catch (error) {
      const names =
        classifyPostgresError(error) === "certificate"
          ? await readServerCertificateNames(admin.host, admin.port)
          : undefined;
      throw adminConnectFailure(error, admin, origin, names);
    }
    try {
      const [row] = await session.query<{ version: string }>(
        "SELECT version() AS version",
      );
      let dialect = detectDialect(String(row?.version));
      if (dialect.name === "cockroachdb") {
        const stores = await storesPasswordVerifiers(session);
        dialect = cockroachDialect(dialect.version, stores);
      }
      const connection = new AdminConnection(admin, dialect, origin, session);
      if (dialect.name === "cockroachdb")
        await connection.rejectInsecureCluster();
      return connection;
    } catch (error) {
      await session.end();
      if (error instanceof ToolError) throw error;
      throw adminConnectFailure(error, admin, origin);
    }
  }

  /** Settings for `user` on the same endpoint and TLS, without client certificates. */
  settingsFor(user: string, password: string, database: string | undefined) {
    return {
      ...this.settings,
      user,
      password,
      database,
      sslCert: undefined,
      sslKey: undefined,
    };
  }

  async query<Row extends Record<string, unknown>>(
    query: Query,
  ): Promise<Row[]> {
    const session = await this.session(query.database);
    try {
      return await session.query<Row>(query.sql, query.params);
    } catch (error) {
      throw statementFailure(
        error,
        { shown: query.sql, secrets: [], database: query.database },
        this.settings,
      );
    }
  }

  async run(statement: Statement): Promise<void> {
    const session = await this.session(statement.database);
    try {
      await session.query(statement.sql);
    } catch (error) {
      throw statementFailure(error, statement, this.settings);
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.sessions.values()].map((session) => session.end()),
    );
    this.sessions.clear();
  }

  private async session(database: string | null): Promise<SqlSession> {
    const key = database ?? "";
    const existing = this.sessions.get(key);
    if (existing) return existing;
    let session: SqlSession;
    try {
      session = await openSession({
        ...this.settings,
        database: database ?? undefined,
      });
    } catch (error) {
      throw adminConnectFailure(error, this.settings, this.origin);
    }
    this.sessions.set(key, session);
    return session;
  }

  /**
   * Rejects an insecure cluster. Such a cluster lets anyone log in with any
   * password, so a login with a random password and no client certificate
   * succeeds only there.
   * NOTE: based on CockroachDB's documented behaviour, not run on a server.
   */
  private async rejectInsecureCluster(): Promise<void> {
    const probe = this.settingsFor(
      this.settings.user,
      randomBytes(24).toString("hex"),
      this.settings.database,
    );
    let session: SqlSession;
    try {
      session = await openSession(probe);
    } catch {
      return;
    }
    await session.end();
    throw new ToolError(INSECURE_CLUSTER, EXIT_CANNOT_START);
  }
}

/**
 * Reads whether CockroachDB stores a SCRAM verifier given as a password
 * (`server.user_login.store_client_pre_hashed_passwords.enabled`, on by
 * default since v22.2). An admin user without the privilege to view cluster
 * settings gets false, and passwords are then sent as they are.
 */
export async function storesPasswordVerifiers(
  session: SqlSession,
): Promise<boolean> {
  try {
    const [row] = await session.query<Record<string, unknown>>(
      "SHOW CLUSTER SETTING server.user_login.store_client_pre_hashed_passwords.enabled",
    );
    const value = row ? Object.values(row)[0] : undefined;
    return value === true || value === "true" || value === "t";
  } catch {
    return false;
  }
}
