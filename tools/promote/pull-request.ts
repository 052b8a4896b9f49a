import type { Logger } from "../lib/log.js";
import { shortSha } from "../sync/revision.js";
import type { GateResult } from "./gate.js";
import {
  describeGitHubError,
  type GitHubClient,
  type Repository,
} from "./github.js";
import type { Change, Skipped } from "./plan.js";

export interface PullRequest {
  number: number;
  url: string;
}

export interface PullRequestText {
  title: string;
  body: string;
}

/** Labels every promotion pull request carries. */
export function promotionLabels(to: string): string[] {
  return ["promotion", `env:${to}`];
}

/**
 * "Promote to staging: hydra, kratos, keto chart 0.62.2 and image v26.3.0".
 * Services whose changes read the same share one entry.
 */
export function renderTitle(to: string, changes: Change[]): string {
  const byService = new Map<string, string[]>();
  for (const change of changes) {
    const parts = byService.get(change.service) ?? [];
    parts.push(`${change.field} ${change.to}`);
    byService.set(change.service, parts);
  }
  const groups = new Map<string, string[]>();
  for (const [service, parts] of byService) {
    const description = parts.join(" and ");
    groups.set(description, [...(groups.get(description) ?? []), service]);
  }
  const entries = [...groups].map(
    ([description, services]) => `${services.join(", ")} ${description}`,
  );
  return `Promote to ${to}: ${entries.join("; ")}`;
}

export interface BodyInput {
  from: string;
  to: string;
  changes: Change[];
  skipped: Skipped[];
  gate: GateResult;
  forced: boolean;
}

/** Renders the pull request's description: the table of changes and the gate. */
export function renderBody(input: BodyInput): string {
  const { from, to, changes, gate } = input;
  const lines = [
    `Promotes the versions that run in **${from}** to **${to}**. Flux applies them to ${to} once this is merged.`,
    "",
    "| service | what | from | to | source commit |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const change of changes) {
    lines.push(
      `| ${change.service} | ${change.field} | \`${change.from}\` | \`${change.to}\` | ${change.sourceCommit} |`,
    );
  }
  lines.push("", "### Gate", "");
  if (input.forced && gate.state !== "passed") {
    lines.push(
      `**Overridden with \`--force\`.** The gate would have ${gate.state === "refused" ? "refused" : "been unchecked"}: ${stripState(gate.summary)}`,
    );
  } else {
    lines.push(`${capitalise(gate.summary)}`);
  }
  if (gate.targetUrl) lines.push("", `Smoke test run: ${gate.targetUrl}`);
  if (gate.note) lines.push("", `**${capitalise(gate.note)}.**`);
  if (input.skipped.length > 0) {
    lines.push("", "### Not promoted", "");
    for (const skip of input.skipped) {
      const field = skip.field ? ` ${skip.field}` : "";
      lines.push(`- ${skip.service}${field} (${skip.overlay}): ${skip.reason}`);
    }
  }
  const files = [...new Set(changes.map((change) => change.targetFile))];
  lines.push(
    "",
    `Changed: ${files.map((file) => `\`${file}\``).join(", ")}. Written by \`npm run promote -- ${from} ${to}\`, which replaces this branch and text on its next run unless someone else has pushed to the branch.`,
  );
  return lines.join("\n") + "\n";
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function stripState(summary: string): string {
  return summary.replace(/^(refused|not checked): /, "");
}

/** Renders the commit message, whose trailer marks the commit as this tool's. */
export function renderCommitMessage(
  from: string,
  to: string,
  changes: Change[],
): string {
  const lines = [`Promote ${from} to ${to}`, ""];
  for (const change of changes) {
    lines.push(
      `${change.service} ${change.field}: ${change.from} -> ${change.to} (from ${shortSha(change.sourceCommit)})`,
    );
  }
  lines.push("", `${PROMOTION_TRAILER}: ${from} -> ${to}`);
  return lines.join("\n") + "\n";
}

/** Trailer key by which the tool recognises its own commits on the branch. */
export const PROMOTION_TRAILER = "Promoted-by-tool";

/** Returns the open pull request from `branch` into `base`, if any. */
export async function findOpenPullRequest(
  client: GitHubClient,
  repository: Repository,
  branch: string,
  base: string,
  apiUrl: string,
): Promise<PullRequest | null> {
  try {
    const response = await client.rest.pulls.list({
      ...repository,
      state: "open",
      head: `${repository.owner}:${branch}`,
      base,
      per_page: 10,
    });
    const found = response.data[0];
    return found ? { number: found.number, url: found.html_url } : null;
  } catch (error) {
    throw describeGitHubError(
      error,
      `look up the pull request for ${branch}`,
      apiUrl,
    );
  }
}

export interface PullRequestRequest extends PullRequestText {
  branch: string;
  base: string;
  labels: string[];
}

/**
 * Updates the open pull request for the branch, or opens one. When GitHub
 * returns 422 because one already exists (opened meanwhile), it is found
 * and updated instead, so there is never a second.
 */
export async function openOrUpdatePullRequest(
  client: GitHubClient,
  repository: Repository,
  request: PullRequestRequest,
  apiUrl: string,
  logger: Logger,
): Promise<{ action: "opened" | "updated"; pullRequest: PullRequest }> {
  const { branch, base } = request;
  let existing = await findOpenPullRequest(
    client,
    repository,
    branch,
    base,
    apiUrl,
  );
  let action: "opened" | "updated" = "updated";
  if (!existing) {
    try {
      const response = await client.rest.pulls.create({
        ...repository,
        head: branch,
        base,
        title: request.title,
        body: request.body,
        maintainer_can_modify: true,
      });
      existing = { number: response.data.number, url: response.data.html_url };
      action = "opened";
    } catch (error) {
      if (!isAlreadyExists(error)) {
        throw describeGitHubError(
          error,
          `open a pull request from ${branch}`,
          apiUrl,
        );
      }
      logger.info(
        `a pull request from ${branch} already exists; updating it instead`,
      );
      existing = await findOpenPullRequest(
        client,
        repository,
        branch,
        base,
        apiUrl,
      );
      if (!existing) {
        throw describeGitHubError(
          error,
          `find the pull request that GitHub reported as existing for ${branch}`,
          apiUrl,
        );
      }
    }
  }
  if (action === "updated") {
    try {
      await client.rest.pulls.update({
        ...repository,
        pull_number: existing.number,
        title: request.title,
        body: request.body,
      });
    } catch (error) {
      throw describeGitHubError(
        error,
        `update pull request #${existing.number}`,
        apiUrl,
      );
    }
  }
  try {
    await client.rest.issues.addLabels({
      ...repository,
      issue_number: existing.number,
      labels: request.labels,
    });
  } catch (error) {
    throw describeGitHubError(
      error,
      `label pull request #${existing.number}`,
      apiUrl,
    );
  }
  return { action, pullRequest: existing };
}

function isAlreadyExists(error: unknown): boolean {
  const { status, response } = (error ?? {}) as {
    status?: number;
    response?: { data?: { errors?: { message?: string }[] } };
  };
  if (status !== 422) return false;
  const messages = (response?.data?.errors ?? []).map(
    (entry) => entry.message ?? "",
  );
  return messages.some((message) => /already exists/i.test(message));
}

/** Comments on and closes a pull request. */
export async function closePullRequest(
  client: GitHubClient,
  repository: Repository,
  pullRequest: PullRequest,
  comment: string,
  apiUrl: string,
): Promise<void> {
  try {
    await client.rest.issues.createComment({
      ...repository,
      issue_number: pullRequest.number,
      body: comment,
    });
    await client.rest.pulls.update({
      ...repository,
      pull_number: pullRequest.number,
      state: "closed",
    });
  } catch (error) {
    throw describeGitHubError(
      error,
      `close pull request #${pullRequest.number}`,
      apiUrl,
    );
  }
}
