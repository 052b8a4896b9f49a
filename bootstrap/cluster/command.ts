import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { KubeConfig } from "@kubernetes/client-node";
import {
  loggerFromFlag,
  parseCommandLine,
  readFormat,
} from "../../tools/lib/cli.js";
import {
  EXIT_OK,
  EXIT_PROBLEM,
  ToolError,
  UsageError,
  type ExitCode,
} from "../../tools/lib/errors.js";
import {
  createKubernetesClientFromConfig,
  type KubernetesClient,
} from "../../tools/lib/kubernetes.js";
import type { Logger } from "../../tools/lib/log.js";
import { applyPlan, type ApplyResult } from "./apply.js";
import {
  createAwsClients,
  readCallerIdentity,
  type AwsClientOptions,
  type AwsClients,
} from "./aws.js";
import {
  DEFAULT_FLUX_SETTINGS,
  handOverToFlux,
  type FluxSettings,
} from "./flux.js";
import {
  createFluxCli,
  readSyncManifests,
  type FluxCli,
  type SyncManifests,
} from "./flux-manifests.js";
import {
  checkCredentialsFitUrl,
  readGitCredentials,
  TOKEN_VARIABLE,
  type GitCredentials,
} from "./git-credentials.js";
import { describeSubnets, observe } from "./observe.js";
import { buildPlan } from "./plan.js";
import { renderJson, renderText, type RunResult } from "./report.js";
import { loadDesiredCluster, type DesiredCluster } from "./spec.js";
import { checkSubnets, subnetsByZone } from "./subnets.js";
import { kubernetesSession } from "./token.js";
import { DEFAULT_WAIT, type WaitSettings } from "./wait.js";

export const USAGE = `Usage: npm run bootstrap -- cluster <name> [options]

Brings the EKS cluster of clusters/<name>/cluster.yaml and its node group in
line with that file, then hands the cluster to Flux. Without --apply it
prints the plan (create, update with each differing field, or nothing to
do) and changes nothing. Safe to rerun.

Options:
  --apply               create what is missing, fix drift, wait until ACTIVE,
                        then install Flux and wait until it has synced
  --upgrade             also carry out a Kubernetes version upgrade (held otherwise)
  --profile NAME        AWS profile for the SDK's credential chain (default: AWS_PROFILE,
                        then the chain's other sources)
  --git-token TOKEN     token Flux pulls this repository with over HTTPS
                        (default: the ${TOKEN_VARIABLE} environment variable, which keeps it
                        out of the process list)
  --git-username NAME   user name sent with the token (default: git)
  --deploy-key FILE     SSH private key Flux pulls with, for an ssh:// URL
                        (default: the FLUX_DEPLOY_KEY environment variable)
  --known-hosts FILE    the Git server's SSH host keys, with --deploy-key
                        (default: the FLUX_KNOWN_HOSTS environment variable)
  --format text|json    result format on stdout (default: text)
  --log-level LEVEL     debug, info, warn, error or silent (default: LOG_LEVEL, else info)
  -h, --help            show this help

Exit codes: 0 done or nothing to do; 1 a step failed, a wait timed out, or a
resource is blocked; 2 usage, credentials, a missing permission, or AWS or
the cluster's API cannot be reached.`;

const OPTIONS = {
  apply: { type: "boolean", default: false },
  upgrade: { type: "boolean", default: false },
  profile: { type: "string" },
  "git-token": { type: "string" },
  "git-username": { type: "string" },
  "deploy-key": { type: "string" },
  "known-hosts": { type: "string" },
} as const;

/** Side effects and settings of the command; tests replace parts. */
export interface ClusterDependencies {
  repoRoot: string;
  environmentVariables: Record<string, string | undefined>;
  writeOutput: (text: string) => void;
  /** Overrides the logger that --log-level selects. */
  logger?: Logger;
  createAwsClients: (options: AwsClientOptions) => AwsClients;
  createKubernetesClient: (kubeConfig: KubeConfig) => KubernetesClient;
  createFluxCli: (environment: Record<string, string | undefined>) => FluxCli;
  waitSettings: WaitSettings;
  fluxSettings: FluxSettings;
  now: () => number;
  sleep: (milliseconds: number) => Promise<void>;
}

const defaults: ClusterDependencies = {
  repoRoot: path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.."),
  environmentVariables: process.env,
  writeOutput: (text) => process.stdout.write(text),
  createAwsClients,
  createKubernetesClient: createKubernetesClientFromConfig,
  createFluxCli,
  waitSettings: DEFAULT_WAIT,
  fluxSettings: DEFAULT_FLUX_SETTINGS,
  now: () => Date.now(),
  sleep: (milliseconds) => delay(milliseconds),
};

/** Runs `bootstrap cluster` with argv after the subcommand's name. */
export async function main(
  argv: string[],
  overrides: Partial<ClusterDependencies> = {},
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
      `expected one cluster name, got ${positionals.length}\n\n${USAGE}`,
    );
  }

  const desired = await loadDesiredCluster(deps.repoRoot, positionals[0]!);
  const sync = await readSyncManifests(deps.repoRoot, desired.spec.name);
  const credentials = await readGitCredentials(
    {
      token: values["git-token"],
      username: values["git-username"],
      deployKeyFile: values["deploy-key"],
      knownHostsFile: values["known-hosts"],
    },
    deps.environmentVariables,
  );
  if (credentials) {
    checkCredentialsFitUrl(credentials, sync.gitRepository.spec.url, sync.file);
  }

  const aws = deps.createAwsClients({
    region: desired.region,
    ...(values.profile ? { profile: values.profile } : {}),
  });
  const identity = await readCallerIdentity(aws);
  if (identity.account !== desired.accountId) {
    throw new UsageError(
      `the AWS credentials belong to account ${identity.account} (${identity.arn}), but ${desired.file} describes a cluster in account ${desired.accountId}; pick that account's profile with --profile`,
    );
  }
  logger.info(`using ${identity.arn} in ${desired.region}`);

  const subnets = await describeSubnets(aws, desired);
  const subnetProblems = checkSubnets(desired, subnets);
  if (subnetProblems.length > 0) {
    throw new UsageError(
      `the subnets of ${desired.file} do not fit an EKS cluster:\n` +
        subnetProblems.map((problem) => `  - ${problem}`).join("\n"),
    );
  }
  const observed = await observe(aws, desired);
  const plan = buildPlan(desired, observed, { upgrade: values.upgrade });
  for (const resource of [plan.cluster, plan.nodegroup]) {
    for (const warning of resource.warnings) logger.warn(warning);
  }

  const result: RunResult = {
    cluster: desired.spec.name,
    environment: desired.spec.environment,
    region: desired.region,
    account: identity.account,
    identity: identity.arn,
    applied: values.apply,
    upgrade: values.upgrade,
    subnets: subnetsByZone(subnets),
    plan,
    steps: [],
    flux: { outcome: "not run", reason: "plan only; run with --apply" },
    problems: [],
  };

  let exitCode: ExitCode = EXIT_OK;
  if (values.apply) {
    requireCredentialsForNewCluster(
      desired,
      sync,
      credentials,
      plan.cluster.action,
    );
    const applied = await applyPlan(
      {
        aws,
        desired,
        options: { upgrade: values.upgrade },
        logger,
        settings: deps.waitSettings,
        now: deps.now,
      },
      plan,
      observed,
    );
    result.plan = applied.plan;
    result.steps = applied.steps;
    if (applied.failure) {
      result.problems.push(applied.failure.message);
      exitCode = applied.failure.exitCode;
    }

    const skipReason = fluxSkipReason(applied);
    if (skipReason) {
      result.flux = { outcome: "not run", reason: skipReason };
    } else {
      try {
        result.flux = await handOverToFlux({
          repoRoot: deps.repoRoot,
          cluster: desired.spec.name,
          sync,
          credentials,
          cli: deps.createFluxCli(deps.environmentVariables),
          connect: kubernetesSession({
            aws,
            cluster: applied.cluster!,
            createClient: deps.createKubernetesClient,
            now: deps.now,
          }),
          logger,
          settings: deps.fluxSettings,
          now: deps.now,
          sleep: deps.sleep,
        });
      } catch (error) {
        if (!(error instanceof ToolError)) throw error;
        logger.error(error.message);
        result.flux = {
          outcome: "not run",
          reason: `failed: ${error.message}`,
        };
        result.problems.push(error.message);
        exitCode = error.exitCode;
      }
    }
  }

  const blockers = [result.plan.cluster, result.plan.nodegroup].flatMap(
    (resource) => resource.blockers,
  );
  result.problems.unshift(...blockers);
  if (blockers.length > 0 && exitCode === EXIT_OK) exitCode = EXIT_PROBLEM;

  deps.writeOutput(format === "json" ? renderJson(result) : renderText(result));
  return exitCode;
}

/**
 * Rejects a run that creates the cluster without Git credentials. A new
 * cluster cannot run Flux yet, so they are needed for certain, and asking
 * now beats failing after a 15-minute creation.
 */
function requireCredentialsForNewCluster(
  desired: DesiredCluster,
  sync: SyncManifests,
  credentials: GitCredentials | null,
  action: string,
): void {
  if (action !== "create" || credentials || !sync.gitRepository.spec.secretRef)
    return;
  throw new UsageError(
    `${desired.spec.name} will be created and ${sync.file} pulls with Secret ${sync.gitRepository.spec.secretRef.name}, but no Git credentials were given; ` +
      `set ${TOKEN_VARIABLE} (or pass --deploy-key FILE for an ssh:// URL) and run again`,
  );
}

function fluxSkipReason(applied: ApplyResult): string | undefined {
  if (applied.failure) return "an earlier step failed";
  const { cluster, nodegroup } = applied.plan;
  if (cluster.blockers.length > 0 || nodegroup.blockers.length > 0) {
    return "the cluster or its node group is blocked";
  }
  if (applied.cluster?.status !== "ACTIVE") {
    return `cluster is ${applied.cluster?.status ?? "missing"}, not ACTIVE`;
  }
  if (
    applied.nodegroup?.status !== "ACTIVE" &&
    applied.nodegroup?.status !== "DEGRADED"
  ) {
    return `node group is ${applied.nodegroup?.status ?? "missing"}, not ACTIVE`;
  }
  return undefined;
}
