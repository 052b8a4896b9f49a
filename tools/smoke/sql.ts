import {
  classifyPostgresError,
  describeEndpoint,
  openSession,
  type ConnectionSettings,
  type SqlSession,
} from "../lib/postgres.js";
import { CheckFailure } from "./steps.js";

/** Opens a session to one database as the verification user. */
export type SqlConnector = (database: string) => Promise<SqlSession>;

/** Returns a connector for `settings`, with the database replaced per call. */
export function connectorFor(settings: ConnectionSettings): SqlConnector {
  return async (database) => {
    const session = await openSession({
      ...settings,
      database,
      applicationName: settings.applicationName ?? "ory-smoke",
    });
    // Ends a query that hangs, which a step's deadline cannot abort.
    await session.query("SET statement_timeout = '10s'");
    return session;
  };
}

// SQLSTATEs that retrying cannot fix: a missing table or column, or a
// missing grant.
const PERMANENT_SQLSTATES = new Set(["42P01", "42703", "42501"]);
// Failures that a wait cannot fix either: wrong credentials or TLS setup.
const PERMANENT_FAILURES = new Set([
  "authentication",
  "certificate",
  "tls-unsupported",
  "privilege",
]);

/**
 * The SQL side of the checks: one lazily opened session per database,
 * shared by the steps of every suite.
 */
export class SqlAccess {
  private readonly sessions = new Map<string, Promise<SqlSession>>();

  constructor(
    private readonly connector: SqlConnector | undefined,
    /** Reason there is no connector, shown for every skipped SQL step. */
    readonly unavailableReason: string | undefined,
    /** "user@host:port", for messages. */
    readonly target: string,
  ) {}

  static from(
    settings: ConnectionSettings | undefined,
    connector: SqlConnector | undefined,
    unavailableReason: string,
  ): SqlAccess {
    if (!settings) return new SqlAccess(undefined, unavailableReason, "");
    return new SqlAccess(
      connector ?? connectorFor(settings),
      undefined,
      `${settings.user}@${describeEndpoint(settings)}`,
    );
  }

  /** Returns why SQL steps are skipped, or undefined when they can run. */
  skipReason(): string | undefined {
    return this.unavailableReason;
  }

  /**
   * Runs one query in `database`. Failures become CheckFailures that name
   * the database and the kind of failure. A failed connection is opened
   * again on the next call.
   */
  async query<Row extends Record<string, unknown>>(
    database: string,
    text: string,
    params: unknown[] = [],
  ): Promise<Row[]> {
    if (!this.connector) {
      throw new CheckFailure(`no SQL connection: ${this.unavailableReason}`, {
        retry: false,
      });
    }
    let pending = this.sessions.get(database);
    if (!pending) {
      pending = this.connector(database);
      this.sessions.set(database, pending);
    }
    try {
      const session = await pending;
      return await session.query<Row>(text, params);
    } catch (error) {
      const kind = classifyPostgresError(error);
      if (kind !== "other" && kind !== "privilege") {
        this.sessions.delete(database);
        void pending.then((session) => session.end()).catch(() => {});
      }
      const code = (error as { code?: string }).code;
      throw new CheckFailure(
        `query in database ${database} as ${this.target} failed (${kind}${code ? `, ${code}` : ""}): ${(error as Error).message}`,
        {
          retry:
            !PERMANENT_FAILURES.has(kind) &&
            !(code && PERMANENT_SQLSTATES.has(code)),
          cause: error,
        },
      );
    }
  }

  async close(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(
      sessions.map((pending) =>
        pending.then((session) => session.end()).catch(() => {}),
      ),
    );
  }
}

/** Reads a count column, which CockroachDB and PostgreSQL return as text. */
export function readCount(row: Record<string, unknown> | undefined): number {
  return Number(row?.count ?? 0);
}
