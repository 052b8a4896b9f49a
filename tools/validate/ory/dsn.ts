/** The parts of a DSN that the rules read, without its password. */
export interface ParsedDsn {
  scheme: string;
  host: string;
  port: string;
  database: string;
  params: URLSearchParams;
}

/** The parts of `scheme://[user[:password]@]hosts[/path][?query]`. */
interface UrlParts {
  scheme: string;
  /** Offsets of the password in the string, when it has one. */
  password?: { start: number; end: number };
  hosts: string;
  path: string;
  query: string;
  /** Offset of the query's first character in the string. */
  queryStart: number;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
/** One host, an IPv6 literal or a name, with an optional port. */
const HOST = String.raw`(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.%~-]*)(:\d*)?`;
/** A host list as libpq and CockroachDB accept it: `h1:26257,h2:26257`. */
const HOSTS = new RegExp(`^${HOST}(,${HOST})*$`);
const SUBSTITUTION = /\$\{[^}]*\}/;
const SOPS_VALUE = /^ENC\[.*\]$/s;

/**
 * Splits a URL whose password may hold `/`, `#` or `@` unencoded: the
 * password runs to the last `@` before the host list. A `?` starts the query,
 * so a password with an unencoded `?` is not recognised.
 */
function splitUrl(value: string): UrlParts | undefined {
  const match = SCHEME.exec(value);
  if (!match) return undefined;
  const start = match[0].length;
  const queryMark = value.indexOf("?", start);
  const beforeQuery = queryMark === -1 ? value.length : queryMark;

  let authorityStart = start;
  let password: UrlParts["password"];
  for (
    let at = value.lastIndexOf("@", beforeQuery - 1);
    at >= start;
    at = value.lastIndexOf("@", at - 1)
  ) {
    const hostEnd = firstOf(value, "/#", at + 1, beforeQuery);
    if (!HOSTS.test(value.slice(at + 1, hostEnd))) continue;
    const userinfo = value.slice(start, at);
    const colon = userinfo.indexOf(":");
    const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
    // A slash in the user part means the `@` is in the path.
    if (user.includes("/")) break;
    const secret = colon === -1 ? "" : userinfo.slice(colon + 1);
    // `host:8080/path/@name` is a port and a path, not a password.
    if (/^\d{1,5}\//.test(secret)) break;
    authorityStart = at + 1;
    if (colon !== -1) {
      password = { start: start + colon + 1, end: at };
    }
    break;
  }
  const hostEnd = firstOf(value, "/#", authorityStart, beforeQuery);
  const pathEnd = firstOf(value, "#", hostEnd, beforeQuery);
  const queryEnd = firstOf(value, "#", beforeQuery, value.length);
  return {
    scheme: match[1]!.toLowerCase(),
    ...(password ? { password } : {}),
    hosts: value.slice(authorityStart, hostEnd),
    path: value.slice(hostEnd, pathEnd),
    query: queryMark === -1 ? "" : value.slice(queryMark + 1, queryEnd),
    queryStart: queryMark + 1,
  };
}

function firstOf(
  value: string,
  characters: string,
  from: number,
  limit: number,
): number {
  for (let index = from; index < limit; index++) {
    if (characters.includes(value[index]!)) return index;
  }
  return limit;
}

/** Offsets of each non-empty `password=` query value. */
function queryPasswords(parts: UrlParts): { start: number; end: number }[] {
  const found: { start: number; end: number }[] = [];
  let offset = parts.queryStart;
  for (const parameter of parts.query.split("&")) {
    if (/^password=./i.test(parameter)) {
      found.push({
        start: offset + "password=".length,
        end: offset + parameter.length,
      });
    }
    offset += parameter.length + 1;
  }
  return found;
}

/** Parses `scheme://user:password@host:port/database?params`; undefined if not a URL. */
export function parseDsn(dsn: string): ParsedDsn | undefined {
  const parts = splitUrl(dsn);
  if (!parts) return undefined;
  const first = parts.hosts.split(",")[0] ?? "";
  const hostMatch = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(first);
  let database = parts.path.replace(/^\//, "");
  try {
    database = decodeURIComponent(database);
  } catch {
    // A stray % stays as written.
  }
  return {
    scheme: parts.scheme,
    host: hostMatch?.[1] ?? first,
    port: hostMatch?.[2] ?? "",
    database,
    params: new URLSearchParams(parts.query),
  };
}

/**
 * True when `value` is a URL that carries a password in its user part or a
 * non-empty `password=` query parameter. A password that is a `${VAR}`
 * substitution or a SOPS `ENC[...]` value is not plain text, so it is not
 * counted.
 */
export function hasUrlPassword(value: string): boolean {
  if (SOPS_VALUE.test(value)) return false;
  const parts = splitUrl(value);
  if (!parts) return false;
  const secrets = [
    ...(parts.password ? [parts.password] : []),
    ...queryPasswords(parts),
  ].map(({ start, end }) => value.slice(start, end));
  return secrets.some(
    (secret) =>
      secret !== "" && !SUBSTITUTION.test(secret) && !SOPS_VALUE.test(secret),
  );
}

/** Lists every URL-shaped word of a text, e.g. of a values file in a ConfigMap. */
export function urlsIn(text: string): string[] {
  return text.match(/[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>]+/gi) ?? [];
}

/** Returns the DSN with the password and any `password=` value masked, safe to print. */
export function redactDsn(dsn: string): string {
  const parts = splitUrl(dsn);
  if (!parts) return dsn.replace(/\bpassword=[^&\s]+/gi, "password=***");
  const secrets = [
    ...(parts.password ? [parts.password] : []),
    ...queryPasswords(parts),
  ].sort((a, b) => b.start - a.start);
  let redacted = dsn;
  for (const { start, end } of secrets) {
    redacted = redacted.slice(0, start) + "***" + redacted.slice(end);
  }
  return redacted;
}

/** True for Keto's and Ory's in-memory database: `memory` or an in-memory SQLite URL. */
export function isMemoryDsn(dsn: string): boolean {
  return dsn === "memory" || (isSqliteDsn(dsn) && /memory/i.test(dsn));
}

/** True for an SQLite DSN, which keeps the data in a file on one pod. */
export function isSqliteDsn(dsn: string): boolean {
  return /^sqlite3?:\/\//i.test(dsn);
}

const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

/**
 * Problems with the pool parameters Ory reads from the DSN query string:
 * max_conns and max_idle_conns are integers, max_conn_lifetime and
 * max_conn_idle_time are Go durations.
 */
export function poolParameterProblems(params: URLSearchParams): string[] {
  const problems: string[] = [];
  for (const name of ["max_conns", "max_idle_conns"]) {
    const value = params.get(name);
    if (value !== null && !/^\d+$/.test(value)) {
      problems.push(`${name}=${value} is not a whole number`);
    }
  }
  const conns = params.get("max_conns");
  if (conns !== null && /^\d+$/.test(conns) && Number(conns) === 0) {
    problems.push("max_conns=0 allows no connection at all");
  }
  for (const name of ["max_conn_lifetime", "max_conn_idle_time"]) {
    const value = params.get(name);
    if (value !== null && !GO_DURATION.test(value)) {
      problems.push(`${name}=${value} is not a Go duration such as 5m or 1h`);
    }
  }
  return problems;
}
