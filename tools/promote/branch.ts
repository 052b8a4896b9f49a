import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { UsageError } from "../lib/errors.js";
import {
  GitCommandError,
  gitOutput,
  remoteCredentials,
  type GitRunner,
} from "./git.js";
import type { FileEdit } from "./plan.js";
import { PROMOTION_TRAILER } from "./pull-request.js";
import type { CommitTree } from "./tree.js";

/** The remote's base branch and promotion branch, fetched locally. */
export interface RemoteState {
  /** Variables that carry the token to git for this remote. */
  credentials: Record<string, string>;
  baseCommit: string;
  /** Head of the promotion branch on the remote, or null when absent. */
  branchCommit: string | null;
}

/**
 * Asks the remote for both branches, then fetches the ones that exist. A
 * shallow clone (the Actions checkout default) is deepened, because the
 * gate and git blame need the base branch's history.
 */
export async function fetchRemote(
  git: GitRunner,
  remote: string,
  base: string,
  branch: string,
  token: string | undefined,
): Promise<RemoteState> {
  const url = await gitOutput(git, ["remote", "get-url", remote]).catch(
    (error: unknown) => {
      throw new UsageError(
        `git remote "${remote}" is not configured in ${git.directory}; add it or pass --remote NAME`,
        { cause: error },
      );
    },
  );
  const credentials = remoteCredentials(url, token);

  const listing = await gitOutput(
    git,
    ["ls-remote", remote, `refs/heads/${base}`, `refs/heads/${branch}`],
    { env: credentials },
  );
  const heads = new Map<string, string>();
  for (const line of listing.split("\n")) {
    const [sha, ref] = line.split("\t");
    if (sha && ref) heads.set(ref, sha);
  }
  const baseHead = heads.get(`refs/heads/${base}`);
  if (!baseHead) {
    throw new UsageError(
      `branch ${base} not found on remote ${remote} (${url}); pass --base BRANCH`,
    );
  }

  const refspecs = [`+refs/heads/${base}:refs/remotes/${remote}/${base}`];
  if (heads.has(`refs/heads/${branch}`)) {
    refspecs.push(`+refs/heads/${branch}:refs/remotes/${remote}/${branch}`);
  }
  const shallow = await gitOutput(git, [
    "rev-parse",
    "--is-shallow-repository",
  ]);
  await git.run(
    [
      "fetch",
      "--no-tags",
      ...(shallow === "true" ? ["--unshallow"] : []),
      remote,
      ...refspecs,
    ],
    { env: credentials },
  );

  return {
    credentials,
    baseCommit: await gitOutput(git, [
      "rev-parse",
      `refs/remotes/${remote}/${base}^{commit}`,
    ]),
    branchCommit: heads.has(`refs/heads/${branch}`)
      ? await gitOutput(git, [
          "rev-parse",
          `refs/remotes/${remote}/${branch}^{commit}`,
        ])
      : null,
  };
}

/** A commit on the promotion branch that this tool did not make. */
export interface ForeignCommit {
  sha: string;
  author: string;
  subject: string;
}

/**
 * Lists the branch's own commits (those not on the base branch) that lack
 * the tool's trailer: someone else's work, which must not be overwritten.
 */
export async function findForeignCommits(
  git: GitRunner,
  baseCommit: string,
  branchCommit: string,
): Promise<ForeignCommit[]> {
  const output = await gitOutput(git, [
    "log",
    `--format=%H%x1f%an%x1f%s%x1f%(trailers:key=${PROMOTION_TRAILER},valueonly,separator=%x2C)%x1e`,
    branchCommit,
    `^${baseCommit}`,
  ]);
  const foreign: ForeignCommit[] = [];
  for (const record of output.split("\x1e")) {
    const [sha, author = "", subject = "", trailer = ""] = record
      .trim()
      .split("\x1f");
    if (!sha) continue;
    if (trailer.trim() === "") foreign.push({ sha, author, subject });
  }
  return foreign;
}

/** Creates one commit on top of `tree.commit` with the edited files. */
export async function createCommit(
  git: GitRunner,
  tree: CommitTree,
  files: FileEdit[],
  message: string,
): Promise<string> {
  const treeId = await writeEditedTree(git, tree, files);
  return gitOutput(git, ["commit-tree", treeId, "-p", tree.commit, "-F", "-"], {
    env: await fallbackIdentity(git),
    input: message,
  });
}

/**
 * Returns the id of the tree that `tree.commit` gets with the edited files,
 * written through a temporary index, so the work tree, the index and the
 * checked-out branch of the clone stay untouched.
 */
export async function writeEditedTree(
  git: GitRunner,
  tree: CommitTree,
  files: FileEdit[],
): Promise<string> {
  const folder = await mkdtemp(path.join(os.tmpdir(), "promote-index-"));
  const env = { GIT_INDEX_FILE: path.join(folder, "index") };
  try {
    await git.run(["read-tree", tree.commit], { env });
    for (const file of files) {
      const blob = await gitOutput(git, ["hash-object", "-w", "--stdin"], {
        input: file.after,
      });
      const mode = tree.mode(file.file) ?? "100644";
      await git.run(
        ["update-index", "--cacheinfo", `${mode},${blob},${file.file}`],
        { env },
      );
    }
    return await gitOutput(git, ["write-tree"], { env });
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

// The Actions workflow sets the app's identity; elsewhere a clone without
// user.name or user.email would make commit-tree fail, so the tool signs
// as itself.
async function fallbackIdentity(
  git: GitRunner,
): Promise<Record<string, string>> {
  const name = await git.run(["config", "user.name"], { allowFailure: true });
  const email = await git.run(["config", "user.email"], {
    allowFailure: true,
  });
  const identity: Record<string, string> = {};
  if (!name.stdout.trim() && !process.env.GIT_AUTHOR_NAME) {
    identity.GIT_AUTHOR_NAME = "ory-crdb-gitops promote";
    identity.GIT_COMMITTER_NAME = "ory-crdb-gitops promote";
  }
  if (!email.stdout.trim() && !process.env.GIT_AUTHOR_EMAIL) {
    identity.GIT_AUTHOR_EMAIL = "promote@ory-crdb-gitops.invalid";
    identity.GIT_COMMITTER_EMAIL = "promote@ory-crdb-gitops.invalid";
  }
  return identity;
}

/** Returns "<tree> <first parent>" of a commit, to compare two commits. */
export async function treeAndParent(
  git: GitRunner,
  commit: string,
): Promise<string> {
  return gitOutput(git, ["show", "-s", "--format=%T %P", commit]);
}

/**
 * Pushes `commit` as the branch, only if the remote branch is still at
 * `expected` (or still absent when null). Returns false when the remote
 * moved meanwhile, which means someone else pushed.
 */
export async function pushBranch(
  git: GitRunner,
  remote: string,
  branch: string,
  commit: string,
  expected: string | null,
  credentials: Record<string, string>,
): Promise<boolean> {
  const ref = `refs/heads/${branch}`;
  try {
    await git.run(
      [
        "push",
        "--porcelain",
        `--force-with-lease=${ref}:${expected ?? ""}`,
        remote,
        `${commit}:${ref}`,
      ],
      { env: credentials },
    );
    return true;
  } catch (error) {
    const text =
      error instanceof GitCommandError
        ? `${error.stdout}\n${error.stderr}`
        : "";
    if (/stale info|\[rejected\]|non-fast-forward|fetch first/.test(text)) {
      return false;
    }
    throw error;
  }
}
