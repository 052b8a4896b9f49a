import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import { Octokit } from "@octokit/rest";
import {
  EXIT_CANNOT_START,
  EXIT_PROBLEM,
  ToolError,
  UsageError,
} from "../lib/errors.js";
import type { Logger } from "../lib/log.js";

const GitHubOctokit = Octokit.plugin(retry, throttling);

/** Octokit with the retry and throttling plugins: the GitHub seam. */
export type GitHubClient = InstanceType<typeof GitHubOctokit>;

export interface Repository {
  owner: string;
  repo: string;
}

/** Settings read from the GITHUB_* variables. */
export interface GitHubSettings {
  token: string;
  repository: Repository;
  /** REST API root: https://api.github.com, or GHE's https://HOST/api/v3. */
  apiUrl: string;
}

/**
 * Reads GITHUB_TOKEN, GITHUB_REPOSITORY (owner/name) and GITHUB_API_URL.
 * Throws a UsageError (exit 2) naming what is missing.
 */
export function readGitHubSettings(
  variables: Record<string, string | undefined>,
): GitHubSettings {
  const token = variables.GITHUB_TOKEN;
  const repository = variables.GITHUB_REPOSITORY;
  if (!token) {
    throw new UsageError(
      "GITHUB_TOKEN is not set; export a token that may push branches, open pull requests and read commit statuses (in Actions, the GitHub App installation token)",
    );
  }
  if (!repository) {
    throw new UsageError(
      "GITHUB_REPOSITORY is not set; export it as owner/name, e.g. GITHUB_REPOSITORY=example-org/ory-crdb-gitops",
    );
  }
  return {
    token,
    repository: parseRepository(repository),
    apiUrl: (variables.GITHUB_API_URL || "https://api.github.com").replace(
      /\/+$/,
      "",
    ),
  };
}

export function parseRepository(text: string): Repository {
  const match = /^([\w.-]+)\/([\w.-]+)$/.exec(text);
  if (!match) {
    throw new UsageError(
      `GITHUB_REPOSITORY "${text}" is not of the form owner/name`,
    );
  }
  return { owner: match[1] as string, repo: match[2] as string };
}

export interface ClientTuning {
  /** Base of the retry back-off in milliseconds; the plugins use 1000. */
  retryBaseMs?: number;
  /**
   * false turns the throttling plugin off. Tests do so where no rate limit
   * is under test, because its spacing of writes (one a second, and three
   * seconds between requests that notify people) outlasts the rest.
   */
  throttle?: boolean;
}

// A rate limit that resets later than this is reported instead of waited
// for, because a CI job would otherwise sit idle for up to an hour.
const MAX_RATE_LIMIT_WAIT_SECONDS = 600;
const MAX_RATE_LIMIT_RETRIES = 3;

/**
 * Creates the client. The retry plugin retries a server error (5xx) three
 * times with a growing delay. The throttling plugin waits out primary and
 * secondary rate limits, and spaces writes a second apart, as GitHub's REST
 * API guidelines request of integrations.
 */
export function createGitHubClient(
  settings: Pick<GitHubSettings, "token" | "apiUrl">,
  logger: Logger,
  tuning: ClientTuning = {},
): GitHubClient {
  const base = tuning.retryBaseMs ?? 1000;
  const onLimit =
    (kind: string) =>
    (
      retryAfter: number,
      options: { method?: string; url?: string },
      _octokit: unknown,
      retryCount: number,
    ) => {
      const request = `${options.method ?? "?"} ${options.url ?? "?"}`;
      if (
        retryCount >= MAX_RATE_LIMIT_RETRIES ||
        retryAfter > MAX_RATE_LIMIT_WAIT_SECONDS
      ) {
        logger.warn(
          `GitHub ${kind} on ${request}: not retrying (retry after ${retryAfter}s, attempt ${retryCount + 1})`,
        );
        return false;
      }
      logger.warn(
        `GitHub ${kind} on ${request}: retrying after ${retryAfter}s (retry ${retryCount + 1} of ${MAX_RATE_LIMIT_RETRIES})`,
      );
      return true;
    };
  return new GitHubOctokit({
    auth: settings.token,
    baseUrl: settings.apiUrl,
    userAgent: "ory-crdb-gitops-promote",
    log: {
      debug: (message: string) => logger.debug(message),
      info: (message: string) => logger.debug(message),
      warn: (message: string) => logger.warn(message),
      error: (message: string) => logger.error(message),
    },
    retry: { retryAfterBaseValue: base },
    throttle: {
      enabled: tuning.throttle ?? true,
      retryAfterBaseValue: base,
      onRateLimit: onLimit("rate limit"),
      onSecondaryRateLimit: onLimit("secondary rate limit"),
    },
  });
}

interface RequestErrorLike {
  status?: number;
  message?: string;
  response?: { data?: unknown; headers?: Record<string, string> };
}

/**
 * Turns an Octokit error into a ToolError. It gets exit 2 when GitHub
 * cannot be reached, rejects the token, denies permission, or still fails
 * after the retries. It gets exit 1 when GitHub rejects the request itself.
 */
export function describeGitHubError(
  error: unknown,
  action: string,
  apiUrl: string,
): ToolError {
  if (error instanceof ToolError) return error;
  const {
    status,
    message = String(error),
    response,
  } = (error ?? {}) as RequestErrorLike;
  const detail = readGitHubMessage(response?.data) ?? message;
  const text = `cannot ${action}: GitHub (${apiUrl}) answered ${status ?? "nothing"}: ${detail}`;
  if (status === undefined || (status === 500 && response === undefined)) {
    return new ToolError(
      `cannot ${action}: GitHub at ${apiUrl} cannot be reached (${message}); check GITHUB_API_URL and the network`,
      EXIT_CANNOT_START,
      { cause: error },
    );
  }
  if (status === 401) {
    return new ToolError(
      `${text}; GITHUB_TOKEN was rejected, so mint a new one`,
      EXIT_CANNOT_START,
      { cause: error },
    );
  }
  if (status === 403 || status === 429) {
    return new ToolError(
      `${text}; the token lacks a permission (contents, pull requests and statuses: write) or the rate limit is spent`,
      EXIT_CANNOT_START,
      { cause: error },
    );
  }
  if (status === 404) {
    return new ToolError(
      `${text}; check GITHUB_REPOSITORY and that the token can see that repository`,
      EXIT_CANNOT_START,
      { cause: error },
    );
  }
  if (status >= 500) {
    return new ToolError(
      `${text} (still failing after retries); try again later`,
      EXIT_CANNOT_START,
      { cause: error },
    );
  }
  return new ToolError(text, EXIT_PROBLEM, { cause: error });
}

function readGitHubMessage(data: unknown): string | undefined {
  const body = data as
    | { message?: string; errors?: { message?: string; code?: string }[] }
    | undefined;
  if (!body?.message) return undefined;
  const details = (body.errors ?? [])
    .map((entry) => entry.message ?? entry.code)
    .filter(Boolean);
  return details.length > 0
    ? `${body.message} (${details.join("; ")})`
    : body.message;
}

/** One commit status as the combined-status endpoint returns it. */
export interface CommitStatus {
  context: string;
  state: "success" | "failure" | "error" | "pending";
  targetUrl: string | null;
  description: string | null;
}

/** Returns the newest status of each context on `sha`. */
export async function readCommitStatuses(
  client: GitHubClient,
  repository: Repository,
  sha: string,
  apiUrl: string,
): Promise<CommitStatus[]> {
  try {
    const response = await client.rest.repos.getCombinedStatusForRef({
      ...repository,
      ref: sha,
      per_page: 100,
    });
    return response.data.statuses.map((status) => ({
      context: status.context,
      state: status.state as CommitStatus["state"],
      targetUrl: status.target_url ?? null,
      description: status.description ?? null,
    }));
  } catch (error) {
    if ((error as RequestErrorLike).status === 422) {
      // GitHub returns 422 for a commit it does not have yet.
      return [];
    }
    throw describeGitHubError(
      error,
      `read the commit statuses of ${sha}`,
      apiUrl,
    );
  }
}
