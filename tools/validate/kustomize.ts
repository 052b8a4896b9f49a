import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
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
 * Runs `kubectl kustomize` on a directory with the load restrictor off, as
 * kustomize-controller does. The child is killed when it passes the time or
 * memory limit; memory is read from /proc because Node cannot set rlimits on
 * a child.
 */
export function runKustomize(
  directory: string,
  limits: KustomizeLimits = DEFAULT_KUSTOMIZE_LIMITS,
): Promise<KustomizeResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      KUBECTL,
      ["kustomize", "--load-restrictor", "LoadRestrictionsNone", directory],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let killedFor: string | undefined;
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));

    const kill = (reason: string) => {
      if (killedFor) return;
      killedFor = reason;
      child.kill("SIGKILL");
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
      if (error.code === "ENOENT") {
        reject(
          new UsageError(
            `kubectl was not found on PATH (looked for "${KUBECTL}"); install kubectl 1.27 or newer, which includes kustomize, or set KUBECTL to its path`,
            { cause: error },
          ),
        );
      } else {
        reject(error);
      }
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      clearInterval(poller);
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
        resolve({
          ok: false,
          error: cleanError(Buffer.concat(stderr).toString("utf8")),
          elapsedMs,
        });
      }
    });
  });
}

async function readRss(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** Strips kubectl's klog prefix so the message reads as one sentence. */
function cleanError(stderr: string): string {
  const match = /err="((?:[^"\\]|\\.)*)"/.exec(stderr);
  const text = match?.[1] ? match[1].replace(/\\(.)/g, "$1") : stderr.trim();
  return text.replace(/^error: /, "");
}
