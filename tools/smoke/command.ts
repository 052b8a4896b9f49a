import path from "node:path";
import { fileURLToPath } from "node:url";
import { loggerFromFlag } from "../lib/cli.js";
import {
  loadEnvironment,
  type EndpointName,
  type Environment,
} from "../lib/environment.js";
import {
  EXIT_OK,
  EXIT_PROBLEM,
  UsageError,
  type ExitCode,
} from "../lib/errors.js";
import { loadKubeConfig } from "../lib/kubernetes.js";
import type { Logger } from "../lib/log.js";
import {
  parseDsn,
  redactDsn,
  type ConnectionSettings,
} from "../lib/postgres.js";
import { openEndpoints, redactUrl, type PortForwarder } from "./endpoints.js";
import {
  createGitHubPublisher,
  readGitHubSettings,
  type CommitStatusPublisher,
  type GitHubSettings,
} from "./github.js";
import { fetchHttpClient, type HttpClient } from "./http.js";
import { watchInterrupts, type SignalSource } from "./interrupt.js";
import { readOptions, USAGE, type SmokeOptions } from "./options.js";
import { forwardServicePort } from "./port-forward.js";
import { postCommitStatus, prepareFolder, writeReports } from "./publish.js";
import {
  renderJson,
  renderText,
  summarize,
  summaryLine,
  type SmokeResult,
} from "./report.js";
import { newRunId } from "./run-id.js";
import { runSuites, SERVICE_ENDPOINTS } from "./run.js";
import { SqlAccess, type SqlConnector } from "./sql.js";
import type { RetryPolicy, StepResult } from "./steps.js";

/** Inputs and side effects of the command; tests and the benchmark replace them. */
export interface SmokeDependencies {
  repoRoot: string;
  environmentVariables: Record<string, string | undefined>;
  writeOutput: (text: string) => void;
  /** Overrides the logger that --log-level selects. */
  logger?: Logger;
  http: HttpClient;
  /** Overrides the connector built from the DSN (which must still be given). */
  sqlConnector?: SqlConnector;
  /** Loads the kubeconfig and returns a port-forwarder; throws a UsageError. */
  createPortForwarder: (options: {
    context: string;
    kubeconfigPath: string | undefined;
  }) => PortForwarder;
  createPublisher: (
    settings: GitHubSettings,
    logger: Logger,
  ) => CommitStatusPublisher;
  signals: SignalSource;
  exit: (code: number) => void;
}

const defaults: SmokeDependencies = {
  repoRoot: path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.."),
  environmentVariables: process.env,
  writeOutput: (text) => process.stdout.write(text),
  http: fetchHttpClient,
  createPortForwarder: ({ context, kubeconfigPath }) => {
    const kubeConfig = loadKubeConfig({ context, kubeconfigPath });
    return (target) => forwardServicePort(kubeConfig, target);
  },
  createPublisher: createGitHubPublisher,
  signals: process,
  exit: (code) => process.exit(code),
};

/** Time each cleanup action retries before it counts as failed. */
const CLEANUP_DEADLINE_MS = 10_000;

/** Runs `npm run smoke -- <environment> [options]`. */
export async function main(
  argv: string[],
  overrides: Partial<SmokeDependencies> = {},
): Promise<ExitCode> {
  const deps: SmokeDependencies = { ...defaults, ...overrides };
  const variables = deps.environmentVariables;
  const options = readOptions(argv, variables);
  if (options === "help") {
    deps.writeOutput(USAGE + "\n");
    return EXIT_OK;
  }
  const logger = deps.logger ?? loggerFromFlag(options.logLevel);

  const environment = await loadEnvironment(deps.repoRoot, options.environment);
  const readOnly = decideReadOnly(options, environment, logger);
  if (readOnly && options.sweepAgeMs !== undefined) {
    throw new UsageError(
      `--sweep deletes data, but this run is read-only (${options.readOnly ? "--read-only" : `the default for ${environment.name}`}); add --read-write to sweep`,
    );
  }
  const publisher = options.commitSha
    ? deps.createPublisher(readGitHubSettings(variables), logger)
    : undefined;
  requireSqlDsn(options);
  if (options.junitFile) await prepareFolder(options.junitFile, "--junit");
  const sql = openSqlAccess(options, deps, logger);

  const endpointNames = options.suites.flatMap((suite) =>
    suite === "sql" ? [] : SERVICE_ENDPOINTS[suite],
  );
  const opened = await openEndpoints(
    environment,
    endpointNames,
    variables,
    () =>
      deps.createPortForwarder({
        context: environment.clusters.ory,
        kubeconfigPath: options.kubeconfig,
      }),
    logger,
  );

  const runId = newRunId();
  const started = new Date();
  const interrupts = watchInterrupts(deps.signals, logger, deps.exit);
  let steps: StepResult[];
  try {
    logger.info(
      `smoke ${environment.name}: ${readOnly ? "read-only" : "read-write"} run ${runId} of ${options.suites.join(", ")}`,
    );
    const policy: RetryPolicy = {
      deadlineMs: options.deadlineMs,
      initialDelayMs: 200,
      maxDelayMs: 2_000,
    };
    steps = await runSuites({
      environment,
      runId,
      readOnly,
      suites: options.suites,
      endpoints: opened.endpoints,
      http: deps.http,
      sql,
      sweepCutoff:
        options.sweepAgeMs === undefined
          ? undefined
          : new Date(started.getTime() - options.sweepAgeMs),
      policy,
      cleanupPolicy: {
        ...policy,
        deadlineMs: Math.min(options.deadlineMs, CLEANUP_DEADLINE_MS),
      },
      variables,
      signal: interrupts.signal,
      logger,
    });
  } finally {
    interrupts.dispose();
    await opened.close();
  }

  const interrupted = interrupts.received() !== undefined;
  const summary = summarize(steps);
  const warnings =
    options.suites.includes("sql") && !options.sqlDsn
      ? [`SQL checks skipped: ${NO_DSN_REASON}`]
      : [];
  const result: SmokeResult = {
    verdict: "",
    warnings,
    environment: environment.name,
    runId,
    readOnly,
    startedAt: started.toISOString(),
    durationMs: Date.now() - started.getTime(),
    interrupted,
    passed: summary.failed === 0 && !interrupted,
    endpoints: (
      Object.entries(opened.endpoints) as [
        EndpointName,
        { url: string; source: string },
      ][]
    ).map(([name, endpoint]) => ({
      name,
      url: redactUrl(endpoint.url),
      source: endpoint.source,
    })),
    summary,
    steps,
  };
  result.verdict = summaryLine(result);
  if (publisher && options.commitSha) {
    result.commitStatus = await postCommitStatus(
      publisher,
      result,
      options.commitSha,
      variables,
      logger,
    );
  }

  deps.writeOutput(
    options.format === "json" ? renderJson(result) : renderText(result),
  );
  const written = await writeReports(result, options, variables, logger);
  logger.info(summaryLine(result));
  const statusFailed =
    result.commitStatus !== undefined && !result.commitStatus.posted;
  return result.passed && written && !statusFailed ? EXIT_OK : EXIT_PROBLEM;
}

function decideReadOnly(
  options: SmokeOptions,
  environment: Environment,
  logger: Logger,
): boolean {
  if (options.readOnly !== undefined) return options.readOnly;
  const byDefault =
    environment.smoke.readOnly || environment.tier === "production";
  if (byDefault) {
    logger.info(
      `${environment.name} is read-only by default (tier ${environment.tier}, smoke.readOnly ${environment.smoke.readOnly}); pass --read-write to run the writing checks`,
    );
  }
  return byDefault;
}

/** Reason the SQL checks are skipped when no DSN is given. */
const NO_DSN_REASON =
  "no SQL connection: pass --sql-dsn or set CRDB_DSN to the verification user's DSN";

/**
 * Throws a UsageError when the SQL checks are selected without a DSN and
 * skipping them would hide it: a commit status must not report success
 * for checks that never ran, and `--only sql` would run nothing.
 */
function requireSqlDsn(options: SmokeOptions): void {
  if (options.sqlDsn || !options.suites.includes("sql")) return;
  if (options.commitSha) {
    throw new UsageError(
      "--commit-status makes the SQL checks mandatory, but no DSN is set (--sql-dsn is not given and CRDB_DSN is unset or empty); pass --sql-dsn or set CRDB_DSN to the verification user's DSN, or leave sql out of --only",
    );
  }
  if (options.suites.length === 1) {
    throw new UsageError(
      "--only sql selects only the SQL checks, but no DSN is set (--sql-dsn is not given and CRDB_DSN is unset or empty); pass --sql-dsn or set CRDB_DSN to the verification user's DSN",
    );
  }
}

function openSqlAccess(
  options: SmokeOptions,
  deps: SmokeDependencies,
  logger: Logger,
): SqlAccess {
  if (!options.sqlDsn) {
    if (options.suites.includes("sql"))
      logger.warn(`SQL checks skipped: ${NO_DSN_REASON}`);
    return SqlAccess.from(undefined, undefined, NO_DSN_REASON);
  }
  const parsed = parseDsn(options.sqlDsn.value, options.sqlDsn.source);
  const workingFolder = deps.environmentVariables.INIT_CWD ?? process.cwd();
  const resolve = (file: string | undefined) =>
    file === undefined ? undefined : path.resolve(workingFolder, file);
  const settings: ConnectionSettings = {
    ...parsed,
    sslRootCert: resolve(parsed.sslRootCert),
    sslCert: resolve(parsed.sslCert),
    sslKey: resolve(parsed.sslKey),
  };
  logger.debug(`SQL checks connect with ${redactDsn(options.sqlDsn.value)}`);
  return SqlAccess.from(settings, deps.sqlConnector, "");
}
