import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import pg from "pg";
import { UsageError } from "./errors.js";

/** The libpq sslmode values this seam supports. */
export type SslMode = "disable" | "require" | "verify-ca" | "verify-full";
const SSL_MODES: readonly SslMode[] = [
  "disable",
  "require",
  "verify-ca",
  "verify-full",
];

/**
 * Connection target and credentials, parsed from a PostgreSQL-style URL
 * (`postgresql://`, `postgres://` or `cockroach://`). File paths stay paths
 * until `openSession` reads them.
 */
export interface ConnectionSettings {
  host: string;
  port: number;
  user: string;
  password: string | undefined;
  database: string | undefined;
  sslMode: SslMode;
  sslRootCert: string | undefined;
  sslCert: string | undefined;
  sslKey: string | undefined;
  applicationName: string | undefined;
}

const SCHEMES = new Set(["postgresql:", "postgres:", "cockroach:"]);

const PERCENT_ENCODING_HINT =
  "percent-encode reserved characters in the user, password and database: % as %25, @ as %40, : as %3A, / as %2F";

/**
 * Parses a connection URL. Throws a UsageError that shows the URL with its
 * password removed, so a typo never puts a secret on the terminal.
 * `sourceName` names where the URL came from, such as a flag or an
 * environment variable.
 */
export function parseDsn(
  dsn: string,
  sourceName = "the DSN",
): ConnectionSettings {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch (error) {
    throw new UsageError(
      `${sourceName} is not a valid URL (${redactDsn(dsn)}); expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=verify-full, and ${PERCENT_ENCODING_HINT}`,
      { cause: error },
    );
  }
  if (!SCHEMES.has(url.protocol)) {
    throw new UsageError(
      `${sourceName} uses the scheme "${url.protocol}"; use postgresql:// or cockroach://`,
    );
  }
  if (!url.hostname || !url.username) {
    throw new UsageError(
      `${sourceName} (${redactDsn(dsn)}) needs a user and a host, as in postgresql://USER:PASSWORD@HOST:PORT/DATABASE`,
    );
  }

  const params = url.searchParams;
  const sslMode = params.get("sslmode") ?? "disable";
  if (!(SSL_MODES as readonly string[]).includes(sslMode)) {
    throw new UsageError(
      `${sourceName} has sslmode=${sslMode}; use one of ${SSL_MODES.join(", ")}`,
    );
  }
  const decode = (part: "user" | "password" | "database", text: string) => {
    try {
      return decodeURIComponent(text);
    } catch (error) {
      // Never show the part itself: it may be the password.
      throw new UsageError(
        `the ${part} in ${sourceName} contains a % that does not start a percent-encoded byte such as %40; ${PERCENT_ENCODING_HINT}`,
        { cause: error },
      );
    }
  };
  const database = decode("database", url.pathname.replace(/^\//, ""));
  const password = url.password
    ? decode("password", url.password)
    : (params.get("password") ?? undefined);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port ? Number(url.port) : defaultPort(url.protocol),
    user: decode("user", url.username),
    password,
    database: database || undefined,
    sslMode: sslMode as SslMode,
    sslRootCert: params.get("sslrootcert") ?? undefined,
    sslCert: params.get("sslcert") ?? undefined,
    sslKey: params.get("sslkey") ?? undefined,
    applicationName: params.get("application_name") ?? undefined,
  };
}

// libpq's default port for postgresql://, CockroachDB's for cockroach://.
function defaultPort(protocol: string): number {
  return protocol === "cockroach:" ? 26257 : 5432;
}

/**
 * Returns the URL with the password removed from user info and parameters.
 * Text that is not a postgresql:// or cockroach:// URL is not shown at all,
 * because a secret may sit anywhere in it: `new URL("root:pw@")` parses.
 */
export function redactDsn(dsn: string): string {
  try {
    const url = new URL(dsn);
    if (!SCHEMES.has(url.protocol) || !url.host) {
      return "(unparsable connection URL)";
    }
    url.password = "";
    url.searchParams.delete("password");
    return url.toString();
  } catch {
    return "(unparsable connection URL)";
  }
}

/** Returns "host:port", bracketing IPv6 addresses. */
export function describeEndpoint(settings: ConnectionSettings): string {
  const host = settings.host.includes(":")
    ? `[${settings.host}]`
    : settings.host;
  return `${host}:${settings.port}`;
}

/** One open connection. Rows come back as plain objects keyed by column. */
export interface SqlSession {
  query<Row extends Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<Row[]>;
  end(): Promise<void>;
}

/** Opens one connection; errors are the driver's, see classifyPostgresError. */
export async function openSession(
  settings: ConnectionSettings,
  timeoutMs = 10_000,
): Promise<SqlSession> {
  const client = new pg.Client({
    host: settings.host,
    port: settings.port,
    user: settings.user,
    password: settings.password ?? "",
    database: settings.database,
    ssl: tlsOptions(settings),
    application_name: settings.applicationName,
    connectionTimeoutMillis: timeoutMs,
    keepAlive: true,
  });
  // A backend that dies while the session is idle emits "error" on the
  // client; without a listener Node would crash the process. The next query
  // fails with the same cause, which is where it is reported.
  client.on("error", () => {});
  await client.connect();
  return {
    async query(sql, params) {
      const result = await client.query(sql, params);
      return result.rows;
    },
    async end() {
      await client.end().catch(() => {});
    },
  };
}

function tlsOptions(settings: ConnectionSettings): pg.ClientConfig["ssl"] {
  if (settings.sslMode === "disable") return false;
  const read = (path: string | undefined) =>
    path === undefined ? undefined : readFileSync(path, "utf8");
  const options: Exclude<pg.ClientConfig["ssl"], boolean | undefined> = {
    // libpq's "require" encrypts without checking the certificate.
    rejectUnauthorized: settings.sslMode !== "require",
    ca: read(settings.sslRootCert),
    cert: read(settings.sslCert),
    key: read(settings.sslKey),
  };
  if (settings.sslMode === "verify-ca") {
    options.checkServerIdentity = () => undefined;
  }
  return options;
}

/** Category of a connection or statement failure, by what a person does next. */
export type PostgresFailure =
  | "unreachable"
  | "authentication"
  | "certificate"
  | "tls-unsupported"
  | "privilege"
  | "connection-lost"
  | "other";

const CERTIFICATE_CODES = new Set([
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
]);
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);
// 57P01 admin_shutdown (pg_terminate_backend), 57P02 crash_shutdown,
// 57P03 cannot_connect_now, 08xxx connection_exception.
const LOST_SQLSTATES = new Set([
  "57P01",
  "57P02",
  "57P03",
  "08000",
  "08003",
  "08006",
]);

/** Sorts a driver or socket error into a PostgresFailure. */
export function classifyPostgresError(error: unknown): PostgresFailure {
  const code = (error as { code?: unknown })?.code;
  const message = String((error as Error)?.message ?? "");
  if (typeof code === "string") {
    if (UNREACHABLE_CODES.has(code)) return "unreachable";
    if (CERTIFICATE_CODES.has(code)) return "certificate";
    if (code === "28P01" || code === "28000") return "authentication";
    if (code === "42501") return "privilege";
    if (LOST_SQLSTATES.has(code)) return "connection-lost";
    if (code === "ECONNRESET" || code === "EPIPE") return "connection-lost";
  }
  if (isMissingPasswordError(error)) return "authentication";
  if (/does not support SSL/i.test(message)) return "tls-unsupported";
  if (/timeout/i.test(message) && /connect/i.test(message)) {
    return "unreachable";
  }
  if (
    /Connection terminated|connection is closed|not queryable/i.test(message)
  ) {
    return "connection-lost";
  }
  return "other";
}

/**
 * Returns whether the server asked for a password (SCRAM) and the settings
 * had none. node-postgres then fails before it sends anything.
 */
export function isMissingPasswordError(error: unknown): boolean {
  const message = String((error as Error)?.message ?? "");
  return /client password must be a (non-empty )?string/.test(message);
}

interface CertificateDetails {
  subject?: { CN?: string | string[] };
  subjectaltname?: string;
}

function namesOf(certificate: CertificateDetails): string[] {
  const names: string[] = [];
  for (const name of [certificate.subject?.CN ?? []].flat()) {
    names.push(`CN=${name}`);
  }
  if (certificate.subjectaltname) names.push(certificate.subjectaltname);
  return names;
}

/**
 * Describes a TLS certificate error: its code, the host dialled, and the
 * names the certificate contains. Node attaches the certificate only to a
 * host name mismatch, so other errors need `names` from
 * readServerCertificateNames.
 */
export function describeCertificateError(
  error: unknown,
  host: string,
  names?: string[],
): string {
  const details = error as {
    code?: string;
    message?: string;
    cert?: CertificateDetails;
  };
  const held = details.cert ? namesOf(details.cert) : names;
  const holds = held
    ? `the certificate contains ${held.join(", ") || "no names"}`
    : "the certificate's names could not be read";
  return `${details.code ?? "TLS error"} (${details.message ?? ""}); the host dialled is "${host}" and ${holds}`;
}

/**
 * Reads the names in a PostgreSQL or CockroachDB server's certificate
 * without verifying it, only to explain a failed verification. Sends the
 * protocol's SSLRequest first, as a client does before TLS. Returns
 * undefined when the server does not reply with TLS in time.
 */
export async function readServerCertificateNames(
  host: string,
  port: number,
  timeoutMs = 5_000,
): Promise<string[] | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (names: string[] | undefined) => {
      socket.destroy();
      resolve(names);
    };
    socket.setTimeout(timeoutMs, () => finish(undefined));
    socket.on("error", () => finish(undefined));
    socket.on("connect", () => {
      // SSLRequest: length 8, then the request code 80877103.
      const request = Buffer.alloc(8);
      request.writeInt32BE(8, 0);
      request.writeInt32BE(80877103, 4);
      socket.write(request);
    });
    socket.once("data", (answer) => {
      if (answer[0] !== 0x53 /* "S" */) return finish(undefined);
      const secure = tls.connect({
        socket,
        servername: net.isIP(host) ? undefined : host,
        rejectUnauthorized: false,
      });
      secure.on("error", () => finish(undefined));
      secure.once("secureConnect", () => {
        const names = namesOf(secure.getPeerCertificate());
        secure.destroy();
        finish(names);
      });
    });
  });
}
