import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

const REPOSITORY_ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../..",
);

// Commits in the fixtures get fixed identities and no global hooks or
// signing settings from the machine running the tests.
const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "Test Author",
  GIT_AUTHOR_EMAIL: "author@example.invalid",
  GIT_COMMITTER_NAME: "Test Author",
  GIT_COMMITTER_EMAIL: "author@example.invalid",
};

export async function git(
  directory: string,
  ...args: string[]
): Promise<string> {
  const { stdout } = await execFileAsync("git", args, {
    cwd: directory,
    env: GIT_ENV,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.trim();
}

/**
 * A temporary clone of this repository's environments, clusters and apps
 * (as committed at HEAD), with a local bare repository as its origin.
 */
export interface GitFixture {
  root: string;
  remote: string;
  work: string;
  /** Replaces text in a file of the work tree, commits and pushes; returns the SHA. */
  change(
    file: string,
    edits: [from: string | RegExp, to: string][],
    message: string,
  ): Promise<string>;
  /** Commits as someone else on `branch` in a second clone, and pushes. */
  pushAsSomeoneElse(
    branch: string,
    file: string,
    text: string,
  ): Promise<string>;
  remoteHead(ref: string): Promise<string | null>;
  read(file: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function createGitFixture(): Promise<GitFixture> {
  const root = await mkdtemp(path.join(os.tmpdir(), "promote-git-"));
  const remote = path.join(root, "remote.git");
  const work = path.join(root, "work");
  await git(root, "init", "--quiet", "--bare", "--initial-branch=main", remote);
  await git(root, "init", "--quiet", "--initial-branch=main", work);
  await git(work, "remote", "add", "origin", remote);

  const archive = path.join(root, "seed.tar");
  await git(
    REPOSITORY_ROOT,
    "archive",
    "--format=tar",
    `--output=${archive}`,
    "HEAD",
    "environments",
    "clusters",
    "apps",
  );
  await execFileAsync("tar", ["-xf", archive, "-C", work]);
  await rm(archive);
  await git(work, "add", "--all");
  await git(work, "commit", "--quiet", "-m", "Seed the environments");
  await git(work, "push", "--quiet", "origin", "main");

  const change: GitFixture["change"] = async (file, edits, message) => {
    await git(work, "checkout", "--quiet", "main");
    await git(work, "pull", "--quiet", "--ff-only", "origin", "main");
    const target = path.join(work, file);
    let text = await readFile(target, "utf8");
    for (const [from, to] of edits) {
      const next = text.replace(from, to);
      if (next === text)
        throw new Error(`${String(from)} not found in ${file}`);
      text = next;
    }
    await writeFile(target, text);
    await git(work, "commit", "--quiet", "-am", message);
    await git(work, "push", "--quiet", "origin", "main");
    return git(work, "rev-parse", "HEAD");
  };

  return {
    root,
    remote,
    work,
    change,
    async pushAsSomeoneElse(branch, file, text) {
      const other = path.join(root, `other-${Date.now()}`);
      await git(root, "clone", "--quiet", "--branch", branch, remote, other);
      await writeFile(path.join(other, file), text);
      await git(other, "add", file);
      await git(
        other,
        "-c",
        "user.name=Jane Operator",
        "-c",
        "user.email=jane@example.invalid",
        "commit",
        "--quiet",
        "--author=Jane Operator <jane@example.invalid>",
        "-m",
        "Adjust the staging rollout",
      );
      await git(other, "push", "--quiet", "origin", branch);
      return git(other, "rev-parse", "HEAD");
    },
    async remoteHead(ref) {
      const output = await git(root, "ls-remote", remote, ref);
      return output.split("\t")[0] || null;
    },
    read: (file) => readFile(path.join(work, file), "utf8"),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** The pins of dev bumped to a newer Ory release, as Renovate would. */
export const DEV_PINS = "environments/dev/ory/versions.yaml";
export const STAGING_PINS = "environments/staging/ory/versions.yaml";

/** Bumps hydra's chart and every Ory image in dev; returns the commit. */
export function bumpDev(
  fixture: GitFixture,
  image = "v26.3.0",
): Promise<string> {
  return fixture.change(
    DEV_PINS,
    [
      [/(name: hydra[\s\S]*?version: )0\.62\.1/, "$10.62.2"],
      [/tag: v26\.2\.0/g, `tag: ${image}`],
    ],
    `Bump Ory to ${image} in dev`,
  );
}
