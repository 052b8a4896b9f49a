/** What a DSN string says, without ever keeping its password. */
export interface ParsedDsn {
  scheme: string;
  hasPassword: boolean;
  host: string;
  port: string;
  database: string;
  params: URLSearchParams;
}

/** Parses `scheme://user:password@host:port/database?params`; undefined if not a URL. */
export function parseDsn(dsn: string): ParsedDsn | undefined {
  const match = /^([a-z][a-z0-9+.-]*):\/\//i.exec(dsn);
  if (!match) return undefined;
  let url: URL;
  try {
    // URL only parses special schemes' hosts reliably; swap in http.
    url = new URL("http://" + dsn.slice(match[0].length));
  } catch {
    return undefined;
  }
  return {
    scheme: match[1]!.toLowerCase(),
    hasPassword: url.password !== "",
    host: url.hostname,
    port: url.port,
    database: decodeURIComponent(url.pathname.replace(/^\//, "")),
    params: url.searchParams,
  };
}

/** The DSN with any password replaced, safe to print. */
export function redactDsn(dsn: string): string {
  return dsn.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/i, "$1:***@");
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
