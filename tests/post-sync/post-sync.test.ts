import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { main } from "../../tools/post-sync/command.js";
import { createGitHubClient } from "../../tools/promote/github.js";
import {
  bumpDev,
  createGitFixture,
  type GitFixture,
} from "../promote/fixture.js";
import { githubVariables, runInProcess } from "../promote/helpers.js";
import {
  startGitHubApiStandIn,
  type GitHubApiStandIn,
} from "../stand-ins/github-api.js";
import {
  crdbObjects,
  helmRelease,
  kustomization,
  OLD_SHA,
  oryObjects,
  startClusters,
  type Clusters,
} from "../sync/helpers.js";

const root = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../..",
);
const SMOKE_STAND_IN = path.join(root, "tests/post-sync/smoke-stand-in.mjs");

let fixture: GitFixture;
let hub: GitHubApiStandIn;
let clusters: Clusters | undefined;
let folder: string;

beforeEach(async () => {
  fixture = await createGitFixture();
  hub = await startGitHubApiStandIn();
  folder = await mkdtemp(path.join(os.tmpdir(), "post-sync-"));
});

afterEach(async () => {
  await clusters?.close();
  clusters = undefined;
  await hub.close();
  await fixture.cleanup();
  await rm(folder, { recursive: true, force: true });
});

/** Dev's Flux objects after Flux applied `revision` with the bumped pins. */
function devAt(revision: string) {
  const ory = oryObjects(revision).map((object) =>
    object.metadata.name === "hydra"
      ? helmRelease("hydra", "ory", { chart: "0.62.2" })
      : object,
  );
  return { ory, crdb: crdbObjects(revision) };
}

async function startDev(
  objects: ReturnType<typeof devAt>,
  environment = "dev",
) {
  clusters = await startClusters(
    environment,
    path.join(folder, "kubeconfig"),
    objects,
  );
  return clusters;
}

/** Runs post-sync in-process with a smoke seam that records its calls. */
function postSync(
  args: string[],
  smokeResult: "success" | "failure" = "success",
) {
  const calls: string[][] = [];
  const outcome = runInProcess((writeOutput, logger) =>
    main(
      [
        ...args,
        "--kubeconfig",
        path.join(folder, "kubeconfig"),
        "--repo",
        fixture.work,
        "--interval",
        "50ms",
      ],
      {
        environmentVariables: githubVariables(hub, fixture.work),
        writeOutput,
        logger,
        github: (settings, log) =>
          createGitHubClient(settings, log, {
            retryBaseMs: 5,
            throttle: false,
          }),
        smoke: () => async (smokeArgs) => {
          calls.push(smokeArgs);
          const environment = smokeArgs[0] as string;
          const sha = smokeArgs[
            smokeArgs.indexOf("--commit-status") + 1
          ] as string;
          hub.addStatus(sha, `smoke/${environment}`, smokeResult);
          return smokeResult === "success" ? 0 : 1;
        },
      },
    ),
  );
  return outcome.then((result) => ({ ...result, calls }));
}

describe("post-sync", () => {
  test("green dev opens staging pull request", async () => {
    const bump = await bumpDev(fixture);
    await startDev(devAt(bump));

    const outcome = await postSync(["dev", "--revision", `main@sha1:${bump}`]);

    expect(outcome.code).toBe(0);
    expect(outcome.calls).toEqual([
      [
        "dev",
        "--commit-status",
        bump,
        "--format",
        "text",
        "--kubeconfig",
        path.join(folder, "kubeconfig"),
      ],
    ]);
    expect(outcome.stdout).toMatch(/sync +passed/);
    expect(outcome.stdout).toMatch(/smoke +passed/);
    expect(outcome.stdout).toMatch(/promote +passed .*opened pull request #1/);
    expect(hub.pulls).toHaveLength(1);
  });

  test("existing failure status is exit 1", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "failure");
    await startDev(devAt(bump));

    const outcome = await postSync(["dev", "--revision", bump]);

    expect(outcome.code).toBe(1);
    expect(outcome.calls).toEqual([]);
    expect(outcome.stdout).toContain(
      `${bump.slice(0, 7)} already failed smoke (smoke/dev is failure)`,
    );
    expect(outcome.stdout).toContain(`--revision ${bump} --force`);
    expect(outcome.stdout).toMatch(/promote +skipped .*smoke\/dev is failure/);
    expect(outcome.stdout).not.toContain("every step passed");
    expect(hub.pulls).toEqual([]);
  });

  test("existing error status is exit 1", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "error");
    await startDev(devAt(bump));

    const outcome = await postSync(["dev", "--revision", bump]);

    expect(outcome.code).toBe(1);
    expect(outcome.calls).toEqual([]);
    expect(outcome.stdout).toMatch(/smoke +failed .*already failed smoke/);
  });

  test("existing success is not tested again", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "success");
    await startDev(devAt(bump));

    const outcome = await postSync(["dev", "--revision", bump]);

    expect(outcome.code).toBe(0);
    expect(outcome.calls).toEqual([]);
    expect(outcome.stdout).toContain(
      "already has a smoke/dev status (success)",
    );
  });

  test("force tests a tested revision again", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "failure");
    await startDev(devAt(bump));

    const outcome = await postSync(["dev", "--revision", bump, "--force"]);

    expect(outcome.code).toBe(0);
    expect(outcome.calls).toHaveLength(1);
  });

  test("smoke failure skips promote", async () => {
    const bump = await bumpDev(fixture);
    await startDev(devAt(bump));

    const outcome = await postSync(["dev", "--revision", bump], "failure");

    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toMatch(/smoke +failed .*smoke exited 1/);
    expect(outcome.stdout).toMatch(/promote +skipped .*smoke did not pass/);
    expect(outcome.stdout).toContain("exit 1: smoke failed");
    expect(hub.pulls).toEqual([]);
  });

  test("sync timeout skips smoke", async () => {
    const bump = await bumpDev(fixture);
    await startDev(devAt(OLD_SHA));

    const outcome = await postSync([
      "dev",
      "--revision",
      bump,
      "--timeout",
      "200ms",
    ]);

    expect(outcome.code).toBe(1);
    expect(outcome.calls).toEqual([]);
    expect(outcome.stdout).toMatch(/sync +failed .*timed out/);
    expect(outcome.stdout).toMatch(/smoke +skipped/);
  });

  test("revision defaults to root Kustomization", async () => {
    const bump = await bumpDev(fixture);
    await startDev(devAt(bump));

    const outcome = await postSync(["dev"]);

    expect(outcome.code).toBe(0);
    expect(outcome.calls[0]?.[2]).toBe(bump);
    expect(outcome.stderr).toContain(`dev-ory last applied main@sha1:${bump}`);
  });

  test("production has no promotion target", async () => {
    const head = await bumpDev(fixture);
    const objects = {
      ory: [...oryObjects(head).slice(0, 2), kustomization("ory", head)],
      crdb: crdbObjects(head).slice(0, 3),
    };
    await startDev(objects, "production");

    const outcome = await postSync(["production", "--revision", head]);

    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toMatch(
      /promote +skipped .*production has no promotion target/,
    );
  });

  test("unreachable cluster is exit 2", async () => {
    const bump = await bumpDev(fixture);
    const started = await startDev(devAt(bump));
    await started.ory.close();

    const outcome = await postSync(["dev", "--revision", bump]);

    expect(outcome.code).toBe(2);
    expect(outcome.stdout).toMatch(/sync +failed .*cannot be reached/);
  });

  test("rehearsal from dev bump to staging pull request", async () => {
    const bump = await bumpDev(fixture);
    const kubeconfig = path.join(folder, "kubeconfig");
    await startDev(devAt(bump));
    const summary = path.join(folder, "summary.md");
    const env = {
      ...process.env,
      ...githubVariables(hub, fixture.work),
      POST_SYNC_SMOKE_COMMAND: `${process.execPath} ${SMOKE_STAND_IN}`,
      SMOKE_STAND_IN_LOG: path.join(folder, "smoke.log"),
      GITHUB_STEP_SUMMARY: summary,
      LOG_LEVEL: "info",
    };

    const outcome = await new Promise<{
      code: number;
      stdout: string;
      stderr: string;
    }>((resolve) => {
      execFile(
        process.execPath,
        [
          "--import",
          "tsx",
          "tools/post-sync/main.ts",
          "dev",
          "--revision",
          `main@sha1:${bump}`,
          "--kubeconfig",
          kubeconfig,
          "--repo",
          fixture.work,
          "--interval",
          "100ms",
          "--timeout",
          "30s",
        ],
        { cwd: root, env },
        (error, stdout, stderr) => {
          const code = error ? Number((error as { code?: number }).code) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });

    expect(outcome.stderr).not.toContain("error:");
    expect(outcome.code).toBe(0);
    expect(await readFile(path.join(folder, "smoke.log"), "utf8")).toBe(
      `dev --commit-status ${bump} --format text --kubeconfig ${kubeconfig}\n`,
    );
    expect(hub.statuses.get(bump)).toEqual([
      {
        context: "smoke/dev",
        state: "success",
        target_url: null,
        description: "stand-in smoke success",
      },
    ]);
    expect(hub.pulls).toHaveLength(1);
    const pull = hub.pulls[0];
    expect(pull?.title).toBe(
      "Promote to staging: hydra chart 0.62.2 and image v26.3.0; kratos, keto image v26.3.0",
    );
    const rows =
      pull?.body
        .split("\n")
        .filter((line) => line.startsWith("| ") && !line.startsWith("| ---")) ??
      [];
    expect(rows).toEqual([
      "| service | what | from | to | source commit |",
      `| hydra | chart | \`0.62.1\` | \`0.62.2\` | ${bump} |`,
      `| hydra | image | \`v26.2.0\` | \`v26.3.0\` | ${bump} |`,
      `| kratos | image | \`v26.2.0\` | \`v26.3.0\` | ${bump} |`,
      `| keto | image | \`v26.2.0\` | \`v26.3.0\` | ${bump} |`,
    ]);
    expect(pull?.body).toContain(`Passed: smoke/dev succeeded on that commit`);
    expect(pull?.labels).toEqual(["promotion", "env:staging"]);
    expect(outcome.stdout).toContain(`post-sync dev at ${bump.slice(0, 7)}`);
    expect(await readFile(summary, "utf8")).toContain("| promote | passed |");
  });
});
