import { shortSha } from "../sync/revision.js";
import { gitOutput, type GitRunner } from "./git.js";
import type { CommitStatus } from "./github.js";

/**
 * passed: a commit with a successful status contains the newest change.
 * refused: none does. not-checked: no GitHub token in a dry run.
 */
export type GateState = "passed" | "refused" | "not-checked";

export interface GateResult {
  state: GateState;
  /** The status context checked, `smoke/<environment>`. */
  context: string;
  /** Newest commit that changed a path the source environment builds from. */
  newestChange: { sha: string; subject: string } | null;
  /** The commit whose status passed the gate. */
  testedCommit: string | null;
  targetUrl: string | null;
  /** Commits whose statuses were read. */
  checkedCommits: number;
  /** What was found, in one or two sentences for the pull request. */
  summary: string;
  /**
   * "note: smoke/dev has since failed on <sha>" when the gate passed but
   * the newest status of the context on the base branch is a failure or
   * error, else null.
   */
  note: string | null;
}

export interface GateInput {
  git: GitRunner;
  /** The commit being promoted from, the head of the base branch. */
  baseCommit: string;
  /** Paths the source environment builds from (see listBuildPaths). */
  paths: string[];
  context: string;
  /** Reads a commit's statuses; null when GitHub is not available. */
  readStatuses: ((sha: string) => Promise<CommitStatus[]>) | null;
  /** Most commits whose statuses are read; newest first. */
  maxCommits?: number;
}

/**
 * Checks that some commit with a successful `context` status contains the
 * newest change to the source environment, i.e. is that commit or one of
 * its descendants up to the base commit. Descendants are read newest first,
 * so the usual case, a status on a recent commit, costs a request or two.
 */
export async function checkGate(input: GateInput): Promise<GateResult> {
  const { git, baseCommit, paths, context } = input;
  const logLine = await gitOutput(git, [
    "log",
    "-1",
    "--format=%H%x1f%s",
    baseCommit,
    "--",
    ...paths,
  ]);
  const [sha = "", subject = ""] = logLine.split("\x1f");
  const empty = {
    context,
    note: null,
    testedCommit: null,
    targetUrl: null,
    checkedCommits: 0,
  };
  if (!sha) {
    return {
      ...empty,
      state: "refused",
      newestChange: null,
      summary: `no commit on the base branch changes ${paths.join(", ")}, so there is nothing a ${context} status could vouch for`,
    };
  }
  const newestChange = { sha, subject };
  if (!input.readStatuses) {
    return {
      ...empty,
      state: "not-checked",
      newestChange,
      summary: `not checked: no GITHUB_TOKEN. It needs a successful ${context} status on ${shortSha(sha)} ("${subject}") or a later commit`,
    };
  }

  const candidates = await descendants(
    git,
    sha,
    baseCommit,
    input.maxCommits ?? 100,
  );
  let newestOther: { sha: string; status: CommitStatus } | undefined;
  let checkedCommits = 0;
  for (const candidate of candidates) {
    checkedCommits += 1;
    const status = (await input.readStatuses(candidate)).find(
      (entry) => entry.context === context,
    );
    if (status?.state === "success") {
      const which =
        candidate === sha
          ? "that commit"
          : `${shortSha(candidate)}, a descendant of it`;
      // The rule stays "any success on a descendant", but a newer failure
      // is worth a look before merging, so it is reported.
      const later = newestOther?.status;
      const note =
        later && (later.state === "failure" || later.state === "error")
          ? `note: ${context} has since failed on ${shortSha(newestOther?.sha ?? "")}${later.targetUrl ? ` (${later.targetUrl})` : ""}`
          : null;
      return {
        context,
        note,
        state: "passed",
        newestChange,
        testedCommit: candidate,
        targetUrl: status.targetUrl,
        checkedCommits,
        summary: `passed: ${context} succeeded on ${which}, and ${shortSha(sha)} ("${subject}") is the newest change to what the environment builds from`,
      };
    }
    if (status && !newestOther) newestOther = { sha: candidate, status };
  }
  const seen = newestOther
    ? ` The newest ${context} status is ${newestOther.status.state} on ${shortSha(newestOther.sha)}${newestOther.status.targetUrl ? ` (${newestOther.status.targetUrl})` : ""}.`
    : ` None of them has a ${context} status yet.`;
  return {
    context,
    note: null,
    state: "refused",
    newestChange,
    testedCommit: null,
    targetUrl: null,
    checkedCommits,
    summary: `refused: no successful ${context} status on ${shortSha(sha)} ("${subject}") or any of the ${checkedCommits - 1} later commits on the base branch.${seen}`,
  };
}

/** `sha` and its descendants up to `head`, newest first, at most `limit`. */
async function descendants(
  git: GitRunner,
  sha: string,
  head: string,
  limit: number,
): Promise<string[]> {
  const output = await gitOutput(git, [
    "rev-list",
    "--ancestry-path",
    `--max-count=${Math.max(1, limit - 1)}`,
    `${sha}..${head}`,
  ]);
  const later = output.split("\n").filter(Boolean);
  // NOTE: past `limit` the oldest descendants are not read; a status that
  // old would be for a revision long replaced on the source environment.
  return [...later, sha];
}
