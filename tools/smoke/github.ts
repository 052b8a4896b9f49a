import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import { Octokit } from "@octokit/rest";
import { UsageError } from "../lib/errors.js";
import type { Logger } from "../lib/log.js";

/** A commit status as GitHub's REST API takes it. */
export interface CommitStatus {
  sha: string;
  state: "success" | "failure";
  /** For example `smoke/dev`. */
  context: string;
  /** At most 140 characters; GitHub rejects longer ones. */
  description: string;
  targetUrl?: string;
}

/** Posts commit statuses to one repository. */
export interface CommitStatusPublisher {
  post(status: CommitStatus): Promise<void>;
}

export interface GitHubSettings {
  token: string;
  owner: string;
  repo: string;
  /** REST API root; api.github.com, or GITHUB_API_URL on GitHub Enterprise. */
  baseUrl: string;
}

/**
 * Reads GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_API_URL as Actions sets
 * them. Throws a UsageError naming what is missing.
 */
export function readGitHubSettings(
  variables: Record<string, string | undefined>,
): GitHubSettings {
  const token = variables.GITHUB_TOKEN;
  if (!token) {
    throw new UsageError(
      "--commit-status needs GITHUB_TOKEN with permission statuses: write; export it or pass it from the workflow",
    );
  }
  const repository = variables.GITHUB_REPOSITORY ?? "";
  const [owner, repo, ...rest] = repository.split("/");
  if (!owner || !repo || rest.length > 0) {
    throw new UsageError(
      `--commit-status needs GITHUB_REPOSITORY as OWNER/REPO (it is "${repository}")`,
    );
  }
  return {
    token,
    owner,
    repo,
    baseUrl: variables.GITHUB_API_URL ?? "https://api.github.com",
  };
}

/** Returns the URL of the Actions run when the variables describe one. */
export function actionsRunUrl(
  variables: Record<string, string | undefined>,
): string | undefined {
  const { GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID } = variables;
  if (!GITHUB_SERVER_URL || !GITHUB_REPOSITORY || !GITHUB_RUN_ID) {
    return undefined;
  }
  return `${GITHUB_SERVER_URL}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}`;
}

/**
 * Creates the publisher on @octokit/rest, retrying server errors and
 * waiting out rate limits up to twice.
 */
export function createGitHubPublisher(
  settings: GitHubSettings,
  logger: Logger,
): CommitStatusPublisher {
  const GitHub = Octokit.plugin(retry, throttling);
  const octokit = new GitHub({
    auth: settings.token,
    baseUrl: settings.baseUrl,
    userAgent: "ory-crdb-gitops smoke",
    throttle: {
      onRateLimit: (
        after: number,
        _options: unknown,
        _octokit: unknown,
        count: number,
      ) => {
        logger.warn(`GitHub rate limit reached; retrying in ${after} s`);
        return count < 2;
      },
      onSecondaryRateLimit: (
        after: number,
        _options: unknown,
        _octokit: unknown,
        count: number,
      ) => {
        logger.warn(
          `GitHub secondary rate limit reached; retrying in ${after} s`,
        );
        return count < 2;
      },
    },
  });
  return {
    async post(status) {
      await octokit.rest.repos.createCommitStatus({
        owner: settings.owner,
        repo: settings.repo,
        sha: status.sha,
        state: status.state,
        context: status.context,
        description: status.description,
        ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
      });
    },
  };
}
