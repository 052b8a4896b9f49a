import { spawn } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { parseResult } from "./helpers.js";
import {
  leftovers,
  startOryStandIns,
  type OryStandIns,
} from "./stand-ins/ory.js";

const repoRoot = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../..",
);
let standIns: OryStandIns | undefined;

afterEach(async () => {
  await standIns?.close();
});

/** Polls `condition` every 50 ms until it is true or `timeoutMs` passes. */
async function waitFor(
  condition: () => boolean,
  timeoutMs: number,
  description: string,
) {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out waiting for ${description}`);
    await sleep(50);
  }
}

describe("smoke run interrupted", () => {
  it("cleans up after a real SIGINT", async () => {
    // Each service responds until it has created something, then hangs on
    // its next check, so the run is mid-flight when the signal arrives.
    const hanging = new Set([
      "/admin/oauth2/introspect",
      "/sessions/whoami",
      "/relation-tuples/check",
    ]);
    standIns = await startOryStandIns({
      override: (request) =>
        hanging.has(request.path) ? { hang: true } : undefined,
    });
    const environment: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      // Keep the child away from this job's summary, commit statuses and DSN.
      if (value !== undefined && !/^(GITHUB_|CRDB_DSN|INIT_CWD)/.test(key)) {
        environment[key] = value;
      }
    }
    // The real `dev` environment: the variables override all its endpoints.
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "tools/smoke/main.ts",
        "dev",
        "--read-write",
        "--format",
        "json",
        "--deadline",
        "60",
      ],
      {
        cwd: repoRoot,
        env: { ...environment, ...standIns.variables(), LOG_LEVEL: "info" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => resolve(code)),
    );

    await waitFor(
      () => {
        const created = leftovers(standIns!);
        const waiting = new Set(
          standIns!.requests
            .filter((request) => hanging.has(request.path))
            .map((request) => request.path),
        );
        return (
          created.clients === 1 &&
          created.identities === 1 &&
          created.tuples === 1 &&
          waiting.size === 3
        );
      },
      30_000,
      `the run to create its data (stderr so far: ${stderr})`,
    );
    child.kill("SIGINT");
    const code = await Promise.race([
      exited,
      sleep(20_000).then(() => "timeout" as const),
    ]);

    expect(code).toBe(1);
    expect(leftovers(standIns)).toEqual({
      clients: 0,
      identities: 0,
      tuples: 0,
    });
    const result = parseResult(stdout);
    expect(result.interrupted).toBe(true);
    const cleanups = result.steps.filter((step) =>
      step.name.startsWith("cleanup: "),
    );
    expect(
      cleanups.map((step) => `${step.suite} ${step.status}`).sort(),
    ).toEqual(["hydra passed", "keto passed", "kratos passed"]);
    expect(stderr).toContain("SIGINT received: stopping the checks");
  }, 60_000);
});
