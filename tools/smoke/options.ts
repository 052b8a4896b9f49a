import path from "node:path";
import { parseCommandLine, readFormat } from "../lib/cli.js";
import { UsageError } from "../lib/errors.js";
import { SUITES, type Suite } from "./steps.js";

export const USAGE = `Usage: npm run smoke -- <environment> [options]

Checks that Hydra, Kratos and Keto work against CockroachDB in one
environment: health and version, an OAuth2 client-credentials token, a
registration, login and logout, a permission check, and the rows these leave
in SQL. The services run in parallel, and every step is timed and retried
until its deadline. Everything a run creates is named after the run
(ory-smoke-<UTC time>-<id>) and deleted in reverse order when the run ends,
also after a failure or Ctrl-C.

Options:
  --read-only          write nothing: health, versions, and checks against the
                       environment's fixtures (smoke.fixtures); the default in
                       production and wherever smoke.readOnly is true
  --read-write         run the writing checks where read-only is the default
  --only LIST          comma-separated subset of hydra,kratos,keto,sql (default: all)
  --sql-dsn URL        connection of the read-only verification user, e.g.
                       postgresql://ory_smoke:PASSWORD@HOST:26257/defaultdb?sslmode=verify-full&sslrootcert=ca.crt
                       (default: the CRDB_DSN environment variable, which keeps
                       it out of the process list); without one the SQL checks
                       are skipped, and --commit-status or --only sql exit 2
  --sweep AGE          first delete what earlier runs left behind when older
                       than AGE, e.g. 30m, 2h or 1d (10m to 3650d); not
                       with --read-only
  --deadline SECONDS   time each step retries before it fails (default: 20)
  --junit FILE         also write the result as JUnit XML to FILE
  --commit-status SHA  post the result as commit status smoke/<environment> on
                       the commit SHA (needs GITHUB_TOKEN and GITHUB_REPOSITORY)
  --kubeconfig FILE    kubeconfig with a context named after the Ory cluster,
                       for port-forwards (default: KUBECONFIG, then ~/.kube/config)
  --format text|json   result format on stdout (default: text)
  --log-level LEVEL    debug, info, warn, error or silent (default: LOG_LEVEL, else info)
  -h, --help           show this help

Endpoints: the variables HYDRA_PUBLIC_URL, HYDRA_ADMIN_URL, KRATOS_PUBLIC_URL,
KRATOS_ADMIN_URL, KETO_READ_REMOTE and KETO_WRITE_REMOTE win (the Keto two
also take host:port); then the URLs in the environment model; then a
port-forward to the Service through the Kubernetes API of the context named
after the environment's Ory cluster.

Exit codes: 0 every check passed; 1 a check or a cleanup failed, an endpoint
did not answer, or the run was interrupted; 2 usage, or no endpoint
configured or discoverable.`;

const OPTIONS = {
  "read-only": { type: "boolean", default: false },
  "read-write": { type: "boolean", default: false },
  only: { type: "string" },
  "sql-dsn": { type: "string" },
  sweep: { type: "string" },
  deadline: { type: "string" },
  junit: { type: "string" },
  "commit-status": { type: "string" },
  kubeconfig: { type: "string" },
} as const;

export const DEFAULT_DEADLINE_SECONDS = 20;

export interface SmokeOptions {
  environment: string;
  format: "text" | "json";
  logLevel: unknown;
  /** true or false when a flag sets it; undefined leaves it to the model. */
  readOnly: boolean | undefined;
  suites: Suite[];
  /** The verification user's DSN and where it came from, when given. */
  sqlDsn: { value: string; source: string } | undefined;
  sweepAgeMs: number | undefined;
  deadlineMs: number;
  /** Absolute path. */
  junitFile: string | undefined;
  commitSha: string | undefined;
  /** Absolute path. */
  kubeconfig: string | undefined;
}

/**
 * Parses the command line. Returns "help" for --help. Relative paths are
 * resolved against INIT_CWD, the folder `npm run` was started in.
 */
export function readOptions(
  argv: string[],
  variables: Record<string, string | undefined>,
): SmokeOptions | "help" {
  const { values, positionals } = parseCommandLine(argv, OPTIONS, USAGE);
  if (values.help) return "help";
  const format = readFormat(values.format, ["text", "json"]) as "text" | "json";
  if (positionals.length !== 1) {
    throw new UsageError(
      `expected one environment name, got ${positionals.length}\n\n${USAGE}`,
    );
  }
  if (values["read-only"] && values["read-write"]) {
    throw new UsageError(
      "--read-only and --read-write exclude each other; pass one",
    );
  }
  const workingFolder = variables.INIT_CWD ?? process.cwd();
  const resolve = (file: string | undefined) =>
    file === undefined ? undefined : path.resolve(workingFolder, file);
  const dsnFlag = values["sql-dsn"];
  const sqlDsn = dsnFlag
    ? { value: dsnFlag, source: "--sql-dsn" }
    : variables.CRDB_DSN
      ? { value: variables.CRDB_DSN, source: "CRDB_DSN" }
      : undefined;
  const commitSha = values["commit-status"];
  if (commitSha !== undefined && !/^[0-9a-f]{40}$/i.test(commitSha)) {
    throw new UsageError(
      `--commit-status ${commitSha} is not a full commit SHA; pass the 40 hexadecimal digits (git rev-parse HEAD)`,
    );
  }

  return {
    environment: positionals[0]!,
    format,
    logLevel: values["log-level"],
    readOnly: values["read-only"]
      ? true
      : values["read-write"]
        ? false
        : undefined,
    suites: parseOnly(values.only),
    sqlDsn,
    sweepAgeMs:
      values.sweep === undefined ? undefined : parseSweepAge(values.sweep),
    deadlineMs: parseDeadline(values.deadline),
    junitFile: resolve(values.junit),
    commitSha: commitSha?.toLowerCase(),
    kubeconfig: resolve(values.kubeconfig),
  };
}

function parseOnly(value: string | undefined): Suite[] {
  if (value === undefined) return [...SUITES];
  const names = value
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = names.filter(
    (name) => !(SUITES as readonly string[]).includes(name),
  );
  if (names.length === 0 || unknown.length > 0) {
    throw new UsageError(
      `--only ${value}: ${unknown.length > 0 ? `unknown ${unknown.join(", ")}` : "empty list"}; use a comma-separated subset of ${SUITES.join(",")}`,
    );
  }
  return SUITES.filter((suite) => names.includes(suite));
}

const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses an age such as 90s, 30m, 2h or 1d into milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  if (!match) {
    throw new UsageError(
      `${flag} ${text} is not a duration; use a whole number with s, m, h or d, e.g. 30m or 2h`,
    );
  }
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

/**
 * Minimum --sweep age. Data younger than this can belong to a run that is
 * still in progress, and sweeping it would break that run's checks.
 * NOTE: a run with long --deadline values can last longer than 10 minutes.
 */
export const MIN_SWEEP_AGE_MS = 10 * 60_000;

/** Maximum --sweep age, 3650 days, which keeps the cutoff a valid Date. */
export const MAX_SWEEP_AGE_MS = 3650 * 86_400_000;

/** Parses the --sweep age and checks it against the minimum and maximum. */
export function parseSweepAge(text: string): number {
  const age = parseDuration(text, "--sweep");
  if (age < MIN_SWEEP_AGE_MS) {
    throw new UsageError(
      `--sweep ${text} is below the minimum of 10m: another run may be in progress, and its data would be deleted under it; use 10m or more`,
    );
  }
  if (age > MAX_SWEEP_AGE_MS) {
    throw new UsageError(
      `--sweep ${text} is above the maximum of 3650d; use a smaller age`,
    );
  }
  return age;
}

function parseDeadline(text: string | undefined): number {
  if (text === undefined) return DEFAULT_DEADLINE_SECONDS * 1000;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > 600) {
    throw new UsageError(
      `--deadline ${text} is not a number of seconds between 0 and 600`,
    );
  }
  return Math.round(value * 1000);
}
