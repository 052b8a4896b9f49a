import { appendFile } from "node:fs/promises";
import path from "node:path";
import { loggerFromFlag, parseCommandLine, readFormat } from "../lib/cli.js";
import { loadEnvironment } from "../lib/environment.js";
import { EXIT_OK, UsageError, type ExitCode } from "../lib/errors.js";
import type { Logger } from "../lib/log.js";
import {
  defaultPromoteDependencies,
  type PromoteDependencies,
} from "../promote/command.js";
import { findWorkTree } from "../promote/git.js";
import { readGitHubSettings } from "../promote/github.js";
import { clusterReaders, type SyncDependencies } from "../sync/command.js";
import { parseDuration } from "../sync/duration.js";
import { parseRevision } from "../sync/revision.js";
import { connectToCluster } from "../sync/wait.js";
import { postSync } from "./post-sync.js";
import { renderJson, renderMarkdown, renderText } from "./report.js";
import { createSmokeRunner, smokeCommand, type SmokeRunner } from "./smoke.js";

export const USAGE = `Usage: npm run post-sync -- <environment> [options]

After Flux has synced an environment: waits until both of its clusters are
synced at the revision (sync), smoke-tests it and posts the smoke/<env>
commit status on that revision (smoke), and when that passed and the
environment promotes to another, opens or updates the promotion pull request
(promote). A revision that already has a smoke/<env> status is not tested
again; if that status is a success, only promote runs.

Options:
  --revision REV         commit to test: a full SHA or Flux's main@sha1:<sha>
                         (default: what the root Kustomization flux-system last applied)
  --force                test the revision even if it already has a smoke/<env> status
  --timeout DURATION     how long sync waits, e.g. 10m (default: 10m)
  --interval DURATION    time between two polls of the clusters (default: 10s)
  --kubeconfig FILE      kubeconfig with contexts named after the clusters (default: KUBECONFIG, then ~/.kube/config)
  --repo DIR             clone of this repository (default: the current directory)
  --remote NAME          git remote for promote (default: origin)
  --base BRANCH          branch promotion pull requests target (default: main)
  --format text|json     result format on stdout (default: text)
  --log-level LEVEL      debug, info, warn, error or silent (default: LOG_LEVEL, else info)
  -h, --help             show this help

Environment: GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_API_URL as for promote;
POST_SYNC_SMOKE_COMMAND replaces the smoke command (default: tools/smoke/main.ts
through tsx); GITHUB_STEP_SUMMARY, when set, gets a Markdown table of the steps.

Exit codes: the first failing step's (1 a check failed, the gate refused or a
timeout; 2 usage, credentials, or a cluster, GitHub or the remote cannot be
reached); 0 when every step passed or had nothing to do.`;

const OPTIONS = {
  revision: { type: "string" },
  force: { type: "boolean", default: false },
  timeout: { type: "string", default: "10m" },
  interval: { type: "string", default: "10s" },
  kubeconfig: { type: "string" },
  repo: { type: "string" },
  remote: { type: "string", default: "origin" },
  base: { type: "string", default: "main" },
} as const;

export interface PostSyncDependencies extends PromoteDependencies {
  connect: SyncDependencies["connect"];
  /** Builds the smoke runner; the default starts smokeCommand(). */
  smoke: (
    logger: Logger,
    variables: Record<string, string | undefined>,
  ) => SmokeRunner;
  now?: () => number;
  sleep?: (milliseconds: number) => Promise<void>;
}

const defaults: PostSyncDependencies = {
  ...defaultPromoteDependencies,
  connect: connectToCluster,
  smoke: (logger, variables) =>
    createSmokeRunner(smokeCommand(variables), logger),
};

/** Runs `npm run post-sync` with the arguments after the script name. */
export async function main(
  argv: string[],
  overrides: Partial<PostSyncDependencies> = {},
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
  const revision =
    values.revision === undefined
      ? undefined
      : parseRevision(values.revision, "--revision");
  const timeoutMs = parseDuration(values.timeout, "--timeout");
  const intervalMs = parseDuration(values.interval, "--interval");
  const variables = deps.environmentVariables;
  const workingFolder = variables.INIT_CWD ?? process.cwd();
  const repoRoot = await findWorkTree(
    path.resolve(workingFolder, values.repo ?? "."),
  );
  const kubeconfig =
    values.kubeconfig === undefined
      ? undefined
      : path.resolve(workingFolder, values.kubeconfig);
  const settings = readGitHubSettings(variables);

  const environment = await loadEnvironment(repoRoot, positionals[0] ?? "");
  const result = await postSync(
    {
      environment,
      revision,
      force: values.force,
      timeoutMs,
      intervalMs,
      kubeconfig,
      repoOption: repoRoot,
      remote: values.remote,
      base: values.base,
    },
    {
      readers: clusterReaders(environment, kubeconfig, deps.connect),
      github: deps.github(settings, logger),
      settings,
      smoke: deps.smoke(logger, variables),
      promoteDependencies: deps,
      logger,
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
    },
  );

  deps.writeOutput(format === "json" ? renderJson(result) : renderText(result));
  const summaryFile = variables.GITHUB_STEP_SUMMARY;
  if (summaryFile) await appendFile(summaryFile, renderMarkdown(result));
  return result.exitCode;
}
