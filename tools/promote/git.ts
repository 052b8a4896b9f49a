import { spawn } from "node:child_process";
import {
  EXIT_CANNOT_START,
  EXIT_PROBLEM,
  ToolError,
  UsageError,
} from "../lib/errors.js";

/** Output and exit code of one git command. */
export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface GitRunOptions {
  /** Text written to git's standard input. */
  input?: string;
  /** Variables added to the environment of this one command. */
  env?: Record<string, string>;
  /** Returns a non-zero exit as a result instead of throwing. */
  allowFailure?: boolean;
}

/** Runs git in one work tree; the seam that tests replace or point elsewhere. */
export interface GitRunner {
  readonly directory: string;
  run(args: string[], options?: GitRunOptions): Promise<GitResult>;
}

/** A git command that exited non-zero. */
export class GitCommandError extends ToolError {
  readonly args: string[];
  readonly stderr: string;
  readonly stdout: string;

  constructor(args: string[], result: GitResult, exitCode: 1 | 2) {
    const detail = result.stderr.trim() || result.stdout.trim();
    super(
      `git ${args[0] ?? ""} failed (exit ${result.exitCode}): ${detail}`,
      exitCode,
    );
    this.name = "GitCommandError";
    this.args = args;
    this.stderr = result.stderr;
    this.stdout = result.stdout;
  }
}

// Messages git prints when a remote cannot be reached or refuses the
// credentials, as opposed to a command that ran and failed.
const UNREACHABLE =
  /could not read from remote|unable to access|does not appear to be a git repository|authentication failed|could not resolve host|connection refused|connection timed out|repository '.*' not found|terminal prompts disabled/i;

/** Creates a runner for the git binary on PATH, working in `directory`. */
export function createGitRunner(directory: string): GitRunner {
  return {
    directory,
    run: (args, options = {}) => runGit(directory, args, options),
  };
}

function runGit(
  directory: string,
  args: string[],
  options: GitRunOptions,
): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, {
      cwd: directory,
      // Without a terminal prompt, a missing credential fails at once in CI
      // instead of waiting for a password that nobody types.
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0", ...options.env },
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", (error) => {
      reject(
        new UsageError(
          `cannot run git (${(error as NodeJS.ErrnoException).code ?? error.message}); install git and put it on PATH`,
          { cause: error },
        ),
      );
    });
    child.on("close", (code) => {
      const result: GitResult = {
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
        exitCode: code ?? 1,
      };
      if (result.exitCode === 0 || options.allowFailure) resolve(result);
      else {
        const exitCode = UNREACHABLE.test(result.stderr)
          ? EXIT_CANNOT_START
          : EXIT_PROBLEM;
        reject(new GitCommandError(args, result, exitCode));
      }
    });
    if (child.stdin) {
      // git may exit before reading all of its input, and its exit code
      // reports the outcome.
      child.stdin.on("error", () => undefined);
      child.stdin.end(options.input);
    }
  });
}

/** Runs git and returns its stdout without the trailing newline. */
export async function gitOutput(
  git: GitRunner,
  args: string[],
  options?: GitRunOptions,
): Promise<string> {
  const result = await git.run(args, options);
  return result.stdout.replace(/\n$/, "");
}

/** Returns the top folder of the work tree that contains `directory`. */
export async function findWorkTree(directory: string): Promise<string> {
  const probe = createGitRunner(directory);
  const result = await probe.run(["rev-parse", "--show-toplevel"], {
    allowFailure: true,
  });
  if (result.exitCode !== 0) {
    throw new UsageError(
      `${directory} is not inside a git work tree; run the command in a clone of this repository or pass --repo DIR`,
    );
  }
  return result.stdout.trim();
}

/**
 * Returns environment variables that make git send `token` to an HTTPS
 * remote as GitHub expects from an app or workflow token. They travel in the
 * environment, never on the command line, so the token does not show in the
 * process list or in an error message. Other remotes get no variables.
 */
export function remoteCredentials(
  remoteUrl: string,
  token: string | undefined,
): Record<string, string> {
  if (!token || !/^https:\/\//i.test(remoteUrl)) return {};
  const origin = new URL(remoteUrl).origin;
  const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
  const count = Number(process.env.GIT_CONFIG_COUNT ?? "0") || 0;
  return {
    GIT_CONFIG_COUNT: String(count + 1),
    [`GIT_CONFIG_KEY_${count}`]: `http.${origin}/.extraheader`,
    [`GIT_CONFIG_VALUE_${count}`]: `AUTHORIZATION: basic ${basic}`,
  };
}
