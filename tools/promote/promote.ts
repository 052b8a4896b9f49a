import { loadEnvironment } from "../lib/environment.js";
import {
  EXIT_OK,
  EXIT_PROBLEM,
  UsageError,
  type ExitCode,
} from "../lib/errors.js";
import type { Logger } from "../lib/log.js";
import { shortSha } from "../sync/revision.js";
import {
  createCommit,
  fetchRemote,
  pushBranch,
  treeAndParent,
  type ForeignCommit,
} from "./branch.js";
import { unifiedDiff } from "./edit.js";
import { checkGate, type GateResult } from "./gate.js";
import type { GitRunner } from "./git.js";
import {
  readCommitStatuses,
  type GitHubClient,
  type Repository,
} from "./github.js";
import { planPromotion, type Change, type Skipped } from "./plan.js";
import {
  closePullRequest,
  findOpenPullRequest,
  openOrUpdatePullRequest,
  promotionLabels,
  renderBody,
  renderCommitMessage,
  renderTitle,
  type PullRequest,
} from "./pull-request.js";
import { findUnownedCommits } from "./ownership.js";
import { listBuildPaths } from "./sources.js";
import { readCommitTree } from "./tree.js";

export interface PromotionRequest {
  from: string;
  to: string;
  dryRun: boolean;
  force: boolean;
  remote: string;
  base: string;
}

/** GitHub access; absent only in a dry run without GITHUB_TOKEN. */
export interface GitHubAccess {
  client: GitHubClient;
  repository: Repository;
  apiUrl: string;
  token: string;
}

export interface PromotionContext {
  /** Top folder of the git work tree whose remote is promoted on. */
  repoRoot: string;
  git: GitRunner;
  github: GitHubAccess | null;
  logger: Logger;
}

/**
 * Outcome of a run. opened, updated, unchanged: the pull request is in
 * place. nothing-to-promote and closed-stale: the environments agree.
 * refused: the gate rejected the promotion. blocked: someone else pushed to the branch.
 * needs-hand-edit: the only differences are lines the target lacks.
 * dry-run: nothing was written.
 */
export type PromotionAction =
  | "opened"
  | "updated"
  | "unchanged"
  | "nothing-to-promote"
  | "closed-stale"
  | "refused"
  | "blocked"
  | "needs-hand-edit"
  | "dry-run";

export interface PromotionResult {
  from: string;
  to: string;
  action: PromotionAction;
  exitCode: ExitCode;
  /** One sentence for the log and the text output. */
  message: string;
  branch: string;
  baseCommit: string;
  changes: Change[];
  skipped: Skipped[];
  gate: GateResult | null;
  forced: boolean;
  commit: string | null;
  pullRequest: PullRequest | null;
  title: string | null;
  body: string | null;
  diff: string;
  foreignCommits: ForeignCommit[];
}

/** Promotes the source environment's version pins to the target's. */
export async function promote(
  request: PromotionRequest,
  context: PromotionContext,
): Promise<PromotionResult> {
  const { from, to } = request;
  const { git, github, logger } = context;
  if (from === to) {
    throw new UsageError(
      `cannot promote ${from} to itself; name two environments`,
    );
  }
  const [source] = await Promise.all([
    loadEnvironment(context.repoRoot, from),
    loadEnvironment(context.repoRoot, to),
  ]);
  if (source.promotesTo !== to) {
    logger.warn(
      `environments/${from}/environment.yaml promotes to ${source.promotesTo ?? "nothing"}, not ${to}; promoting as asked`,
    );
  }
  const branch = `promote/${from}-to-${to}`;

  const remote = await fetchRemote(
    git,
    request.remote,
    request.base,
    branch,
    github?.token,
  );
  const tree = await readCommitTree(git, remote.baseCommit);
  logger.info(
    `comparing the pins of ${from} and ${to} at ${request.remote}/${request.base} ${shortSha(remote.baseCommit)}`,
  );
  const plan = await planPromotion(git, tree, from, to);
  const diff = plan.files
    .map((file) => unifiedDiff(file.file, file.before, file.after))
    .join("");
  const result: PromotionResult = {
    from,
    to,
    action: "nothing-to-promote",
    exitCode: EXIT_OK,
    message: "",
    branch,
    baseCommit: remote.baseCommit,
    changes: plan.changes,
    skipped: plan.skipped,
    gate: null,
    forced: request.force,
    commit: null,
    pullRequest: null,
    title: null,
    body: null,
    diff,
    foreignCommits: [],
  };

  if (plan.changes.length === 0 && plan.skipped.length > 0) {
    return needsHandEdit(result);
  }
  if (plan.changes.length === 0) {
    return closeStale(result, request, context, remote.branchCommit);
  }

  const paths = await listBuildPaths(tree, source);
  const gate = await checkGate({
    git,
    baseCommit: remote.baseCommit,
    paths,
    context: `smoke/${from}`,
    readStatuses: github
      ? (sha) =>
          readCommitStatuses(
            github.client,
            github.repository,
            sha,
            github.apiUrl,
          )
      : null,
  });
  result.gate = gate;
  logger.info(`gate: ${gate.summary}`);
  if (gate.state === "refused" && !request.force) {
    return {
      ...result,
      action: "refused",
      exitCode: EXIT_PROBLEM,
      message: `refused to promote ${from} to ${to}: ${gate.summary.replace(/^refused: /, "")} Run post-sync for ${from} (or smoke with --commit-status), or pass --force to override.`,
    };
  }
  if (gate.state === "refused") {
    logger.warn(
      "the gate rejected the promotion; --force overrides it and the pull request notes the override",
    );
  }

  result.title = renderTitle(to, plan.changes);
  result.body = renderBody({
    from,
    to,
    changes: plan.changes,
    skipped: plan.skipped,
    gate,
    forced: request.force,
  });
  if (request.dryRun) {
    return {
      ...result,
      action: "dry-run",
      message: `dry run: ${plan.changes.length} change(s) from ${from} to ${to}; nothing was pushed or opened`,
    };
  }
  if (!github) throw new Error("GitHub access is required outside a dry run");

  if (remote.branchCommit) {
    const foreign = await findUnownedCommits(
      git,
      from,
      to,
      remote.baseCommit,
      remote.branchCommit,
    );
    if (foreign.length > 0) return blocked(result, foreign);
  }
  const commit = await createCommit(
    git,
    tree,
    plan.files,
    renderCommitMessage(from, to, plan.changes),
  );
  result.commit = commit;

  const upToDate =
    remote.branchCommit !== null &&
    (await treeAndParent(git, remote.branchCommit)) ===
      (await treeAndParent(git, commit));
  if (upToDate) {
    result.commit = remote.branchCommit;
    logger.info(`${branch} already contains this promotion; not pushing`);
  } else {
    const pushed = await pushBranch(
      git,
      request.remote,
      branch,
      commit,
      remote.branchCommit,
      remote.credentials,
    );
    if (!pushed) {
      return blocked(result, [
        {
          sha: "(unknown)",
          author: "someone",
          subject: "pushed while this run was working",
        },
      ]);
    }
    logger.info(`pushed ${shortSha(commit)} to ${request.remote} ${branch}`);
  }

  const { action, pullRequest } = await openOrUpdatePullRequest(
    github.client,
    github.repository,
    {
      branch,
      base: request.base,
      title: result.title,
      body: result.body,
      labels: promotionLabels(to),
    },
    github.apiUrl,
    logger,
  );
  const finalAction = action === "updated" && upToDate ? "unchanged" : action;
  return {
    ...result,
    action: finalAction,
    pullRequest,
    message: `${action === "opened" ? "opened" : "updated"} pull request #${pullRequest.number} (${pullRequest.url}) promoting ${from} to ${to}`,
  };
}

function blocked(
  result: PromotionResult,
  foreign: ForeignCommit[],
): PromotionResult {
  const list = foreign
    .map(
      (commit) =>
        `${shortSha(commit.sha)} by ${commit.author} ("${commit.subject}")`,
    )
    .join(", ");
  return {
    ...result,
    action: "blocked",
    exitCode: EXIT_PROBLEM,
    foreignCommits: foreign,
    message: `${result.branch} has commits this tool did not make: ${list}. Left the branch and its pull request as they are; merge or close that pull request, or delete the branch, then run promote again.`,
  };
}

// Every difference is one the tool cannot edit, so the environments do not
// agree yet and any open pull request stays open.
function needsHandEdit(result: PromotionResult): PromotionResult {
  const list = result.skipped
    .map((skip) => {
      const field = skip.field ? ` ${skip.field}` : "";
      return `${skip.service}${field} (${skip.overlay})`;
    })
    .join(", ");
  return {
    ...result,
    action: "needs-hand-edit",
    exitCode: EXIT_PROBLEM,
    message: `${result.to} differs from ${result.from} only where this tool cannot edit the target files: ${list}. Add those lines to ${result.to} by hand, then run promote again.`,
  };
}

/**
 * Closes the open promotion pull request for the pair, which is stale once
 * the environments agree, unless someone else has pushed to its branch.
 */
async function closeStale(
  result: PromotionResult,
  request: PromotionRequest,
  context: PromotionContext,
  branchCommit: string | null,
): Promise<PromotionResult> {
  const { from, to } = request;
  const agree = `${to} already runs every version pinned in ${from}`;
  const github = context.github;
  if (request.dryRun || !github) {
    return { ...result, message: `nothing to promote: ${agree}` };
  }
  const open = await findOpenPullRequest(
    github.client,
    github.repository,
    result.branch,
    request.base,
    github.apiUrl,
  );
  if (!open) return { ...result, message: `nothing to promote: ${agree}` };
  if (branchCommit) {
    const foreign = await findUnownedCommits(
      context.git,
      from,
      to,
      result.baseCommit,
      branchCommit,
    );
    if (foreign.length > 0) {
      return {
        ...result,
        foreignCommits: foreign,
        pullRequest: open,
        message: `nothing to promote: ${agree}. Pull request #${open.number} has commits by others on ${result.branch}, so it stays open for them to close`,
      };
    }
  }
  await closePullRequest(
    github.client,
    github.repository,
    open,
    `Closing: nothing to promote any more, because ${agree} (checked at ${shortSha(result.baseCommit)}).`,
    github.apiUrl,
  );
  return {
    ...result,
    action: "closed-stale",
    pullRequest: open,
    message: `nothing to promote: ${agree}; closed the stale pull request #${open.number}`,
  };
}
