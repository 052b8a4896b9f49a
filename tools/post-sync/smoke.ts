import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../lib/errors.js";
import type { Logger } from "../lib/log.js";

/** Runs the smoke command with arguments; resolves to its exit code. */
export type SmokeRunner = (args: string[]) => Promise<number>;

const PACKAGE_ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../..",
);

/**
 * Returns the command that runs smoke: POST_SYNC_SMOKE_COMMAND split on spaces
 * (no quoting), or this repository's tools/smoke/main.ts through tsx. The
 * variable lets another smoke implementation, or a test's stand-in, take
 * its place without post-sync knowing more than its command line.
 */
export function smokeCommand(
  variables: Record<string, string | undefined>,
): string[] {
  const configured = variables.POST_SYNC_SMOKE_COMMAND?.trim();
  if (configured) return configured.split(/\s+/);
  return [
    process.execPath,
    "--import",
    "tsx",
    path.join(PACKAGE_ROOT, "tools", "smoke", "main.ts"),
  ];
}

/**
 * Creates a runner that starts `command` as a child process. Its stdout and
 * stderr both go to this process's stderr, so post-sync's stdout carries
 * only post-sync's own result.
 */
export function createSmokeRunner(
  command: string[],
  logger: Logger,
): SmokeRunner {
  return (args) =>
    new Promise((resolve, reject) => {
      const [program, ...prefix] = command;
      if (!program) {
        reject(new UsageError("POST_SYNC_SMOKE_COMMAND is empty"));
        return;
      }
      logger.info(`running smoke: ${[...command, ...args].join(" ")}`);
      const child = spawn(program, [...prefix, ...args], {
        cwd: PACKAGE_ROOT,
        env: process.env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout.on("data", (chunk: Buffer) => process.stderr.write(chunk));
      child.stderr.on("data", (chunk: Buffer) => process.stderr.write(chunk));
      child.on("error", (error) =>
        reject(
          new UsageError(
            `cannot start smoke (${program}): ${error.message}; check POST_SYNC_SMOKE_COMMAND or that tools/smoke exists`,
            { cause: error },
          ),
        ),
      );
      child.on("close", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
}
