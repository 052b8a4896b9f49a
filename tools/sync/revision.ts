import { UsageError } from "../lib/errors.js";
import {
  gitOutput,
  remoteCredentials,
  type GitRunner,
} from "../promote/git.js";

const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * Parses a git revision given as a full commit SHA, or in the form Flux
 * writes it in statuses and events: `main@sha1:<sha>` (Flux 2.x) or
 * `main/<sha>` (Flux before 2.0). Returns the lower-case SHA.
 */
export function parseRevision(text: string, flag: string): string {
  const trimmed = text.trim().toLowerCase();
  const match =
    /^(?:.*@)?(?:sha1:|sha256:)?([0-9a-f]+)$/.exec(trimmed) ??
    /^[^@]*\/([0-9a-f]+)$/.exec(trimmed);
  const sha = match?.[1];
  if (!sha || !FULL_SHA.test(sha)) {
    throw new UsageError(
      `${flag} ${JSON.stringify(text)} is not a full commit SHA; pass the 40-character SHA (git rev-parse COMMIT) or Flux's form main@sha1:<sha>`,
    );
  }
  return sha;
}

/**
 * Checks whether a revision as Flux reports it (`main@sha1:<sha>`, or
 * `main/<sha>` before Flux 2.0) names commit `sha`.
 */
export function revisionIs(reported: unknown, sha: string): boolean {
  if (typeof reported !== "string" || reported === "") return false;
  const value = reported.toLowerCase();
  return (
    value === sha ||
    value.endsWith(`:${sha}`) ||
    value.endsWith(`/${sha}`) ||
    value.endsWith(`@${sha}`)
  );
}

/** Returns the first seven characters, as git abbreviates a SHA. */
export function shortSha(sha: string): string {
  return sha.slice(0, 7);
}

/**
 * Returns the commit at the head of `branch` on the work tree's `remote`,
 * asking the remote itself so a stale local clone cannot mislead.
 */
export async function readRemoteHead(
  git: GitRunner,
  remote: string,
  branch: string,
  token: string | undefined,
): Promise<string> {
  const url = await gitOutput(git, ["remote", "get-url", remote]).catch(
    (error: unknown) => {
      throw new UsageError(
        `git remote "${remote}" is not configured in ${git.directory}; pass --revision SHA or --remote NAME`,
        { cause: error },
      );
    },
  );
  const output = await gitOutput(
    git,
    ["ls-remote", "--exit-code", remote, `refs/heads/${branch}`],
    { env: remoteCredentials(url, token) },
  ).catch((error: unknown) => {
    if ((error as { exitCode?: number }).exitCode === 2) throw error;
    throw new UsageError(
      `branch ${branch} not found on remote ${remote}; pass --revision SHA`,
      { cause: error },
    );
  });
  const sha = output.split(/\s+/)[0] ?? "";
  return parseRevision(sha, `head of ${remote}/${branch}`);
}
