import {
  EXIT_CANNOT_START,
  EXIT_PROBLEM,
  ToolError,
} from "../../tools/lib/errors.js";
import {
  classifyPostgresError,
  describeCertificateError,
  describeEndpoint,
  isMissingPasswordError,
  type ConnectionSettings,
} from "../../tools/lib/postgres.js";
import type { Statement } from "./dialect.js";

/** Message of an insecure CockroachDB cluster, which accepts any password. */
export const INSECURE_CLUSTER =
  "CockroachDB runs in insecure mode (started with --insecure): it accepts any password and cannot store one, " +
  "so service users could not be isolated. This deployment needs a secure cluster with TLS certificates";

/** Replaces every secret value in `text` with ***. */
export function scrub(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret) result = result.replaceAll(secret, "***");
  }
  return result;
}

function errorText(error: unknown, secrets: readonly string[]): string {
  return scrub(String((error as Error)?.message ?? error), secrets);
}

/** Origin of a connection's settings, for messages. */
export interface DsnOrigin {
  /** The DSN without its password. */
  shownDsn: string;
  /** The flag or environment variable that held it, e.g. "--admin-dsn". */
  source: string;
}

/**
 * Explains why the admin connection could not be opened. Every cause is
 * exit 2: the job cannot start.
 */
export function adminConnectFailure(
  error: unknown,
  settings: ConnectionSettings,
  origin: DsnOrigin,
  certificateNames?: string[],
): ToolError {
  const { shownDsn, source } = origin;
  const endpoint = describeEndpoint(settings);
  const text = errorText(error, [settings.password ?? ""]);
  const options = { cause: error };
  switch (classifyPostgresError(error)) {
    case "unreachable":
      return new ToolError(
        `cannot reach the database at ${endpoint} (${text}). Check that the host name resolves from here, ` +
          `that the load balancer forwards port ${settings.port} to CockroachDB, that the security group admits this machine's address, ` +
          `and that the sslmode in the admin DSN matches the server (DSN: ${shownDsn})`,
        EXIT_CANNOT_START,
        options,
      );
    case "authentication":
      if (isMissingPasswordError(error) || !settings.password) {
        return new ToolError(
          `the server at ${endpoint} asks user "${settings.user}" for a password, but ${source} contains none. ` +
            "Put the password in the URL as postgresql://USER:PASSWORD@HOST:PORT/DATABASE (percent-encoded), " +
            `or log in with a client certificate through sslcert and sslkey (DSN: ${shownDsn})`,
          EXIT_CANNOT_START,
          options,
        );
      }
      return new ToolError(
        `authentication failed for user "${settings.user}" at ${endpoint}: ${text}. Check the user and password in ${source} (DSN: ${shownDsn})`,
        EXIT_CANNOT_START,
        options,
      );
    case "privilege":
      return new ToolError(
        `the admin user "${settings.user}" lacks the CONNECT privilege on database ${settings.database ?? "(default)"} at ${endpoint}: ${text}. ` +
          "Grant it CONNECT on that database, or use an admin that is a superuser (PostgreSQL) or a member of the admin role (CockroachDB)",
        EXIT_CANNOT_START,
        options,
      );
    case "certificate":
      return new ToolError(
        `the TLS certificate of ${endpoint} was rejected: ${describeCertificateError(error, settings.host, certificateNames)}. ` +
          `Dial a host name that the certificate contains, and set sslrootcert in the admin DSN to the cluster's CA (DSN: ${shownDsn})`,
        EXIT_CANNOT_START,
        options,
      );
    case "tls-unsupported":
      return new ToolError(
        `the server at ${endpoint} does not accept TLS, but the admin DSN asks for sslmode=${settings.sslMode}. ` +
          `If this is CockroachDB, it runs in insecure mode: ${INSECURE_CLUSTER}`,
        EXIT_CANNOT_START,
        options,
      );
    default:
      return new ToolError(
        `cannot connect to ${endpoint} as "${settings.user}": ${text} (DSN: ${shownDsn})`,
        EXIT_CANNOT_START,
        options,
      );
  }
}

/**
 * Explains a failed statement or query. A lost connection is exit 1 with
 * the advice to rerun, because every step is safe to repeat. A missing
 * privilege of the admin user is exit 2, a credentials problem.
 */
export function statementFailure(
  error: unknown,
  statement: Pick<Statement, "shown" | "secrets" | "database">,
  admin: ConnectionSettings,
): ToolError {
  const endpoint = describeEndpoint(admin);
  const text = errorText(error, [...statement.secrets, admin.password ?? ""]);
  const where = statement.database ? ` in database ${statement.database}` : "";
  const step = `"${statement.shown}"${where}`;
  const options = { cause: error };
  if (/password is not supported in insecure mode/i.test(text)) {
    return new ToolError(INSECURE_CLUSTER, EXIT_CANNOT_START, options);
  }
  switch (classifyPostgresError(error)) {
    case "connection-lost":
    case "unreachable":
      return new ToolError(
        `lost the connection to ${endpoint} during ${step}: ${text}. ` +
          "Each step is safe to repeat: run the same command again to finish",
        EXIT_PROBLEM,
        options,
      );
    case "privilege":
      return new ToolError(
        `the admin user "${admin.user}" lacks a privilege for ${step}: ${text}. ` +
          "Use an admin user that is a member of the admin role (CockroachDB) or a superuser (PostgreSQL)",
        EXIT_CANNOT_START,
        options,
      );
    default:
      return new ToolError(
        `${step} failed on ${endpoint}: ${text}`,
        EXIT_PROBLEM,
        options,
      );
  }
}
