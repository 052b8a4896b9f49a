import path from "node:path";
import { loggerFromFlag, parseCommandLine, readFormat } from "../lib/cli.js";
import { loadEnvironment, type Environment } from "../lib/environment.js";
import {
  EXIT_OK,
  EXIT_PROBLEM,
  UsageError,
  type ExitCode,
} from "../lib/errors.js";
import type { Logger } from "../lib/log.js";
import {
  createGitRunner,
  findWorkTree,
  type GitRunner,
} from "../promote/git.js";
import { parseDuration } from "./duration.js";
import { renderJson, renderText } from "./report.js";
import { parseRevision, readRemoteHead } from "./revision.js";
import { connectToCluster, waitForSync, type FluxReader } from "./wait.js";

export const USAGE = `Usage: npm run sync -- <environment> [options]

Waits until Flux has applied a git revision to both clusters of an
environment (<env>-ory and <env>-crdb): the GitRepository's artifact is at
the revision, every Kustomization has applied it and is Ready, and every
HelmRelease is Ready at its latest generation with the chart version its
spec requests.

Options:
  --revision SHA         commit to wait for, as a full SHA or in Flux's form main@sha1:<sha>
                         (default: the head of the branch Flux tracks, read from the git remote)
  --timeout DURATION     how long to wait, e.g. 90s, 10m, 1h (default: 10m)
  --interval DURATION    time between two polls of the clusters (default: 10s)
  --kubeconfig FILE      kubeconfig with contexts named after the clusters (default: KUBECONFIG, then ~/.kube/config)
  --repo DIR             clone of this repository, for the environment models and the remote (default: the current directory)
  --remote NAME          git remote whose branch head is the default revision (default: origin)
  --format text|json     result format on stdout (default: text)
  --log-level LEVEL      debug, info, warn, error or silent (default: LOG_LEVEL, else info)
  -h, --help             show this help

Exit codes: 0 synced; 1 an object failed or the timeout passed; 2 usage, or
a cluster's API cannot be reached.`;

const OPTIONS = {
  revision: { type: "string" },
  timeout: { type: "string", default: "10m" },
  interval: { type: "string", default: "10s" },
  kubeconfig: { type: "string" },
  repo: { type: "string" },
  remote: { type: "string", default: "origin" },
} as const;

/** Everything the command reaches outside its arguments; tests replace them. */
export interface SyncDependencies {
  environmentVariables: Record<string, string | undefined>;
  writeOutput: (text: string) => void;
  /** Overrides the logger that --log-level selects. */
  logger?: Logger;
  connect: (cluster: string, kubeconfigPath: string | undefined) => FluxReader;
  git: (directory: string) => GitRunner;
  now?: () => number;
  sleep?: (milliseconds: number) => Promise<void>;
}

const defaults: SyncDependencies = {
  environmentVariables: process.env,
  writeOutput: (text) => process.stdout.write(text),
  connect: connectToCluster,
  git: createGitRunner,
};

/** Runs `npm run sync` with the arguments after the script name. */
export async function main(
  argv: string[],
  overrides: Partial<SyncDependencies> = {},
): Promise<ExitCode> {
  const deps = { ...defaults, ...overrides };
  const { values, positionals } = parseCommandLine(argv, OPTIONS, USAGE);
  if (values.help) {
    deps.writeOutput(USAGE + "\n");
    return EXIT_OK;
  }
  const format = readFormat(values.format, ["text", "json"]);
  const logger = deps.logger ?? loggerFromFlag(values["log-level"]);
  if (positionals.length !== 1) {
    throw new UsageError(
      `expected one environment name, got ${positionals.length}\n\n${USAGE}`,
    );
  }
  const timeoutMs = parseDuration(values.timeout, "--timeout");
  const intervalMs = parseDuration(values.interval, "--interval");
  const workingFolder = deps.environmentVariables.INIT_CWD ?? process.cwd();
  const repoFolder = path.resolve(workingFolder, values.repo ?? ".");
  // Inside a clone the models are found from any subfolder; outside one
  // (with --revision) the folder itself must be the repository root.
  const repoRoot = await findWorkTree(repoFolder).catch(() => repoFolder);
  const kubeconfig =
    values.kubeconfig === undefined
      ? undefined
      : path.resolve(workingFolder, values.kubeconfig);

  const requestedRevision =
    values.revision === undefined
      ? undefined
      : parseRevision(values.revision, "--revision");

  const environment = await loadEnvironment(repoRoot, positionals[0] ?? "");
  const readers = clusterReaders(environment, kubeconfig, deps.connect);
  const revision =
    requestedRevision ??
    (await defaultRevision(
      readers[0] as FluxReader,
      deps.git(repoRoot),
      values.remote,
      deps.environmentVariables.GITHUB_TOKEN,
      logger,
    ));

  const result = await waitForSync(
    { environment: environment.name, revision, timeoutMs, intervalMs },
    {
      readers,
      logger,
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
    },
  );
  deps.writeOutput(format === "json" ? renderJson(result) : renderText(result));
  return result.outcome === "synced" ? EXIT_OK : EXIT_PROBLEM;
}

/** Creates one reader per cluster of the environment, the Ory cluster first. */
export function clusterReaders(
  environment: Environment,
  kubeconfigPath: string | undefined,
  connect: SyncDependencies["connect"],
): FluxReader[] {
  const clusters = [environment.clusters.ory, environment.clusters.crdb];
  return clusters
    .filter((cluster): cluster is string => cluster !== null)
    .map((cluster) => connect(cluster, kubeconfigPath));
}

/**
 * Returns the head of the branch that the cluster's root GitRepository
 * tracks (flux-system/flux-system, as `flux bootstrap` names it), read from
 * the remote of the local clone.
 */
async function defaultRevision(
  reader: FluxReader,
  git: GitRunner,
  remote: string,
  token: string | undefined,
  logger: Logger,
): Promise<string> {
  const repository = await reader.read(
    "GitRepository",
    "flux-system",
    "flux-system",
  );
  const reference = repository?.spec?.ref as { branch?: string } | undefined;
  const branch = reference?.branch ?? "main";
  const sha = await readRemoteHead(git, remote, branch, token);
  logger.info(`no --revision given: ${remote}/${branch} is at ${sha}`);
  return sha;
}
