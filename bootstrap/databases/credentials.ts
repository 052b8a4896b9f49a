import { randomInt } from "node:crypto";
import type { OryService, TlsMode } from "../../tools/lib/environment.js";

const ALPHABET =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/**
 * Length of generated database passwords: 40 characters from 62 symbols is
 * about 238 bits, and letters and digits need no escaping in a DSN or SQL.
 */
export const PASSWORD_LENGTH = 40;

/**
 * Keys of each service's Secret besides `dsn`, with the length of the value
 * generated for each. Kratos encrypts with XChaCha20-Poly1305, whose key is
 * exactly 32 bytes, so its cipher secret must be exactly 32 characters.
 */
export const APPLICATION_SECRETS: Record<OryService, Record<string, number>> = {
  hydra: { secretsSystem: 32, secretsCookie: 32 },
  kratos: { secretsDefault: 32, secretsCookie: 32, secretsCipher: 32 },
  keto: {},
};

/** Keys whose value must have exactly the generated length. */
export const FIXED_LENGTH_KEYS = new Set(["secretsCipher"]);

/** Returns `length` characters drawn uniformly from letters and digits. */
export function generateSecret(length: number): string {
  let value = "";
  for (let i = 0; i < length; i++)
    value += ALPHABET[randomInt(ALPHABET.length)];
  return value;
}

/**
 * Connection pool limits in every service DSN. These are this repository's
 * defaults, not values from the environment model: 20 connections per pod,
 * 4 kept idle, and each connection replaced after 30 minutes so that load
 * spreads again across CockroachDB nodes after one restarts.
 */
export const POOL_LIMITS = {
  max_conns: "20",
  max_idle_conns: "4",
  max_conn_lifetime: "30m",
};

/** Target of a DSN: host, port, database and TLS. buildDsn adds the credentials. */
export interface DsnTarget {
  scheme: "cockroach" | "postgresql";
  host: string;
  port: number;
  database: string;
  sslMode: TlsMode;
  /** CA file path inside the pod, or null when sslmode does not verify. */
  sslRootCert: string | null;
  /** Whether to append POOL_LIMITS, which only Ory's drivers read. */
  poolLimits: boolean;
}

/** Builds a connection URL with the user and password percent-encoded. */
export function buildDsn(
  target: DsnTarget,
  user: string,
  password: string,
): string {
  const query = [`sslmode=${target.sslMode}`];
  if (target.sslRootCert) {
    // Keep the slashes readable; the path needs no other escaping.
    query.push(
      `sslrootcert=${encodeURIComponent(target.sslRootCert).replaceAll("%2F", "/")}`,
    );
  }
  if (target.poolLimits) {
    for (const [key, value] of Object.entries(POOL_LIMITS)) {
      query.push(`${key}=${value}`);
    }
  }
  const credentials = `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
  return `${target.scheme}://${credentials}@${target.host}:${target.port}/${target.database}?${query.join("&")}`;
}

/** Reads user and password from a DSN, or returns null if it has none. */
export function readDsnCredentials(
  dsn: string | undefined,
): { user: string; password: string } | null {
  if (!dsn) return null;
  try {
    const url = new URL(dsn);
    if (!url.username || !url.password) return null;
    return {
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    };
  } catch {
    return null;
  }
}
