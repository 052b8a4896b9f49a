import { execFile, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { UsageError } from "../lib/errors.js";

export interface KustomizeLimits {
  /** Wall-clock limit for one build, in milliseconds. */
  timeoutMs: number;
  /** Resident memory limit for one build, in bytes. */
  maxRssBytes: number;
}

export const DEFAULT_KUSTOMIZE_LIMITS: KustomizeLimits = {
  timeoutMs: 60_000,
  maxRssBytes: 2 * 1024 * 1024 * 1024,
};

export type KustomizeResult =
  | { ok: true; output: string; elapsedMs: number }
  | { ok: false; error: string; elapsedMs: number };

const KUBECTL = process.env.KUBECTL ?? "kubectl";
const RSS_POLL_MS = 50;

/**
 * Process groups of running kustomize children and build folders not yet
 * removed. The children run in their own groups, so neither Ctrl-C nor the
 * exit of this process reaches them; these are cleaned up on exit instead.
 */
const liveGroups = new Set<number>();
const liveFolders = new Set<string>();
let exitCleanupInstalled = false;

function installExitCleanup(): void {
  if (exitCleanupInstalled) return;
  exitCleanupInstalled = true;
  process.on("exit", cleanUpNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    // Once: the listener is gone when the signal is raised again, so the
    // default action ends the process with the usual status.
    process.once(signal, () => {
      cleanUpNow();
      process.kill(process.pid, signal);
    });
  }
}

function cleanUpNow(): void {
  for (const group of liveGroups) {
    try {
      process.kill(-group, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  liveGroups.clear();
  for (const folder of liveFolders)
    rmSync(folder, { recursive: true, force: true });
  liveFolders.clear();
}

/** Creates a temporary folder for one build's wrapper kustomization. */
export async function makeBuildFolder(): Promise<string> {
  installExitCleanup();
  const folder = await mkdtemp(path.join(os.tmpdir(), "validate-build-"));
  liveFolders.add(folder);
  return folder;
}

export async function removeBuildFolder(folder: string): Promise<void> {
  liveFolders.delete(folder);
  await rm(folder, { recursive: true, force: true });
}

const NOT_FOUND = `kubectl was not found on PATH (looked for "${KUBECTL}"); install kubectl 1.27 or newer, which includes kustomize, or set KUBECTL to its path`;

let kubectlCheck: Promise<void> | undefined;

/**
 * Checks once per process that KUBECTL runs `kustomize`, so a broken or
 * wrong binary is a usage problem (exit 2) instead of a failed build
 * blamed on the manifests. Rejects with a UsageError.
 */
export function checkKubectl(): Promise<void> {
  kubectlCheck ??= new Promise<void>((resolve, reject) => {
    // The same flag as the builds: kubectl before 1.21 lacks it.
    execFile(
      KUBECTL,
      ["kustomize", "--load-restrictor", "LoadRestrictionsNone", "--help"],
      { timeout: 30_000 },
      (error, _stdout, stderr) => {
        if (!error) return resolve();
        if ((error as NodeJS.ErrnoException).code === "ENOENT") {
          reject(new UsageError(NOT_FOUND, { cause: error }));
          return;
        }
        const detail = stderr.trim().split("\n")[0] || error.message;
        reject(
          new UsageError(
            `"${KUBECTL}" cannot run kustomize with --load-restrictor (\`${KUBECTL} kustomize --load-restrictor LoadRestrictionsNone --help\` failed: ${detail}); install kubectl 1.27 or newer, which includes kustomize, or set KUBECTL to its path`,
            { cause: error },
          ),
        );
      },
    );
  });
  return kubectlCheck;
}

/**
 * Runs `kubectl kustomize` on a directory with the load restrictor off, as
 * kustomize-controller does. The child is killed when it passes the time or
 * memory limit; memory is read from /proc because Node cannot set rlimits on
 * a child.
 */
export async function runKustomize(
  directory: string,
  limits: KustomizeLimits = DEFAULT_KUSTOMIZE_LIMITS,
): Promise<KustomizeResult> {
  await checkKubectl();
  return runChild(directory, limits);
}

function runChild(
  directory: string,
  limits: KustomizeLimits,
): Promise<KustomizeResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      KUBECTL,
      ["kustomize", "--load-restrictor", "LoadRestrictionsNone", directory],
      // Its own process group, so a limit kills any children it started too.
      { stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    installExitCleanup();
    if (child.pid !== undefined) liveGroups.add(child.pid);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let killedFor: string | undefined;
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));

    const kill = (reason: string) => {
      if (killedFor) return;
      killedFor = reason;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const timer = setTimeout(
      () =>
        kill(
          `kustomize build timed out after ${limits.timeoutMs / 1000} s; the overlay is too large or loops`,
        ),
      limits.timeoutMs,
    );
    const poller = setInterval(() => {
      if (child.pid === undefined) return;
      readRss(child.pid).then(
        (rss) => {
          if (rss !== undefined && rss > limits.maxRssBytes) {
            kill(
              `kustomize build used more than ${Math.round(limits.maxRssBytes / 1024 / 1024)} MiB of memory and was stopped; look for YAML aliases or generators that expand`,
            );
          }
        },
        () => undefined,
      );
    }, RSS_POLL_MS);

    child.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      clearInterval(poller);
      if (child.pid !== undefined) liveGroups.delete(child.pid);
      if (error.code === "ENOENT") {
        reject(new UsageError(NOT_FOUND, { cause: error }));
      } else {
        reject(error);
      }
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      clearInterval(poller);
      if (child.pid !== undefined) liveGroups.delete(child.pid);
      const elapsedMs = performance.now() - started;
      if (killedFor) {
        resolve({ ok: false, error: killedFor, elapsedMs });
      } else if (code === 0) {
        resolve({
          ok: true,
          output: Buffer.concat(stdout).toString("utf8"),
          elapsedMs,
        });
      } else {
        // A crash can leave nothing on stderr; the exit still needs a reason.
        const message =
          cleanError(Buffer.concat(stderr).toString("utf8")) ||
          `kubectl exited with ${code === null ? "a signal" : `code ${code}`} and printed no error`;
        resolve({ ok: false, error: message, elapsedMs });
      }
    });
  });
}

async function readRss(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

/**
 * Turns kubectl's klog line into one sentence. klog writes either
 * `err="..."` or, for multi-line errors, `err=<` followed by indented
 * lines and a closing `>`.
 */
export function cleanError(stderr: string): string {
  let text: string;
  const quoted = /err="((?:[^"\\]|\\.)*)"/.exec(stderr);
  const block = /err=<\n([\s\S]*?)\n\s*>/.exec(stderr);
  if (quoted?.[1]) text = quoted[1].replace(/\\(.)/g, "$1");
  else if (block?.[1])
    text = block[1]
      .split("\n")
      .map((line) => line.trim())
      .join(" ");
  else text = stderr.trim();
  return redactValues(text.replace(/^error: /, ""));
}

/**
 * kustomize quotes the YAML node it failed on, which may be Secret data, so
 * the quoted contents never reach the output.
 */
function redactValues(text: string): string {
  return text.replace(/node contents:[\s\S]*$/, "node contents: (not shown)");
}
