import path from "node:path";
import { loggerFromFlag, parseCommandLine, readFormat } from "../lib/cli.js";
import { EXIT_OK, UsageError, type ExitCode } from "../lib/errors.js";
import type { Logger } from "../lib/log.js";
import { createGitRunner, findWorkTree, type GitRunner } from "./git.js";
import {
  createGitHubClient,
  readGitHubSettings,
  type GitHubClient,
  type GitHubSettings,
} from "./github.js";
import {
  promote,
  type GitHubAccess,
  type PromotionRequest,
  type PromotionResult,
} from "./promote.js";
import { renderJson, renderText } from "./report.js";

export const USAGE = `Usage: npm run promote -- <from> <to> [options]

Copies the chart versions and image tags pinned in environments/<from>/*/versions.yaml
into environments/<to>/*/versions.yaml, editing only those values, then pushes
branch promote/<from>-to-<to> with one commit and opens or updates its pull
request (labels promotion and env:<to>).

It refuses unless a commit with a successful smoke/<from> commit status
contains the newest commit that changed anything <from>'s clusters build from.

Options:
  --dry-run            print the diff and the pull request text; push and open nothing
  --force              promote even when the gate rejects it; the pull request notes the override
  --repo DIR           clone of this repository to work in (default: the current directory)
  --remote NAME        git remote to read and push (default: origin)
  --base BRANCH        branch the pull request targets (default: main)
  --format text|json   result format on stdout (default: text)
  --log-level LEVEL    debug, info, warn, error or silent (default: LOG_LEVEL, else info)
  -h, --help           show this help

Environment: GITHUB_TOKEN (pushes and calls the API; optional with --dry-run),
GITHUB_REPOSITORY (owner/name), GITHUB_API_URL (default https://api.github.com).

Exit codes: 0 opened, updated or nothing to promote; 1 refused by the gate, the
branch contains someone else's commits, a difference needs a hand edit, or a
step failed; 2 usage, credentials, or GitHub or the remote cannot be reached.`;

const OPTIONS = {
  "dry-run": { type: "boolean", default: false },
  force: { type: "boolean", default: false },
  repo: { type: "string" },
  remote: { type: "string", default: "origin" },
  base: { type: "string", default: "main" },
} as const;

/** Everything the command reaches outside its arguments; tests replace them. */
export interface PromoteDependencies {
  environmentVariables: Record<string, string | undefined>;
  writeOutput: (text: string) => void;
  /** Overrides the logger that --log-level selects. */
  logger?: Logger;
  git: (directory: string) => GitRunner;
  github: (settings: GitHubSettings, logger: Logger) => GitHubClient;
}

export const defaultPromoteDependencies: PromoteDependencies = {
  environmentVariables: process.env,
  writeOutput: (text) => process.stdout.write(text),
  git: createGitRunner,
  github: (settings, logger) => createGitHubClient(settings, logger),
};

/** Runs `npm run promote` with the arguments after the script name. */
export async function main(
  argv: string[],
  overrides: Partial<PromoteDependencies> = {},
): Promise<ExitCode> {
  const deps = { ...defaultPromoteDependencies, ...overrides };
  const { values, positionals } = parseCommandLine(argv, OPTIONS, USAGE);
  if (values.help) {
    deps.writeOutput(USAGE + "\n");
    return EXIT_OK;
  }
  const format = readFormat(values.format, ["text", "json"]);
  const logger = deps.logger ?? loggerFromFlag(values["log-level"]);
  if (positionals.length !== 2) {
    throw new UsageError(
      `expected two environment names, <from> and <to>, got ${positionals.length}\n\n${USAGE}`,
    );
  }
  const [from = "", to = ""] = positionals;
  const result = await runPromotion(
    {
      from,
      to,
      dryRun: values["dry-run"],
      force: values.force,
      remote: values.remote,
      base: values.base,
    },
    values.repo,
    deps,
    logger,
  );
  deps.writeOutput(format === "json" ? renderJson(result) : renderText(result));
  return result.exitCode;
}

/**
 * Finds the work tree, sets up GitHub access and runs the promotion; shared
 * with post-sync. GitHub settings are required except in a dry run.
 */
export async function runPromotion(
  request: PromotionRequest,
  repoOption: string | undefined,
  deps: Pick<PromoteDependencies, "environmentVariables" | "git" | "github">,
  logger: Logger,
): Promise<PromotionResult> {
  // npm runs scripts from the package root; INIT_CWD is where the user was.
  const workingFolder = deps.environmentVariables.INIT_CWD ?? process.cwd();
  const repoRoot = await findWorkTree(
    path.resolve(workingFolder, repoOption ?? "."),
  );
  let github: GitHubAccess | null = null;
  const hasToken = Boolean(deps.environmentVariables.GITHUB_TOKEN);
  if (!request.dryRun || hasToken) {
    const settings = readGitHubSettings(deps.environmentVariables);
    github = {
      client: deps.github(settings, logger),
      repository: settings.repository,
      apiUrl: settings.apiUrl,
      token: settings.token,
    };
  }
  return promote(request, {
    repoRoot,
    git: deps.git(repoRoot),
    github,
    logger,
  });
}
