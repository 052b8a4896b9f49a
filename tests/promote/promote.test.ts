import { writeFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  startGitHubApiStandIn,
  type GitHubApiStandIn,
} from "../stand-ins/github-api.js";
import {
  bumpDev,
  createGitFixture,
  git,
  STAGING_PINS,
  type GitFixture,
} from "./fixture.js";
import { githubVariables, promoteCommand } from "./helpers.js";

const BRANCH = "refs/heads/promote/dev-to-staging";

let fixture: GitFixture;
let hub: GitHubApiStandIn;

beforeEach(async () => {
  fixture = await createGitFixture();
  hub = await startGitHubApiStandIn();
});

afterEach(async () => {
  await hub.close();
  await fixture.cleanup();
});

function promote(...extra: string[]) {
  return promoteCommand(hub, fixture.work, ["dev", "staging", ...extra]);
}

function promoteThrottled() {
  const variables = githubVariables(hub, fixture.work);
  return promoteCommand(hub, fixture.work, ["dev", "staging"], variables, true);
}

/** Lines the promotion commit adds or removes, without diff headers. */
async function changedLines(commit: string): Promise<string[]> {
  const diff = await git(
    fixture.work,
    "show",
    "--format=",
    "--unified=0",
    commit,
  );
  return diff
    .split("\n")
    .filter((line) => /^[-+]/.test(line) && !/^(---|\+\+\+) /.test(line));
}

describe("promote", () => {
  test("first run opens pull request", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "success");

    const outcome = await promote();

    expect(outcome.stderr).not.toContain("error:");
    expect(outcome.code).toBe(0);
    const main = await fixture.remoteHead("refs/heads/main");
    const pushed = await fixture.remoteHead(BRANCH);
    expect(pushed).not.toBeNull();
    await git(fixture.work, "fetch", "--quiet", "origin", BRANCH);
    const parents = await git(
      fixture.work,
      "show",
      "-s",
      "--format=%P",
      pushed as string,
    );
    expect(parents).toBe(main);

    const lines = await changedLines(pushed as string);
    expect(lines).toEqual([
      "-      version: 0.62.1",
      "+      version: 0.62.2",
      "-      tag: v26.2.0",
      "+      tag: v26.3.0",
      "-      tag: v26.2.0",
      "+      tag: v26.3.0",
      "-      tag: v26.2.0",
      "+      tag: v26.3.0",
    ]);
    const files = await git(
      fixture.work,
      "show",
      "--format=",
      "--name-only",
      pushed as string,
    );
    expect(files).toBe(STAGING_PINS);

    // The file differs from the original only in those values: every
    // comment and the key order survive.
    const before = await fixture.read(STAGING_PINS);
    const after = await git(fixture.work, "show", `${pushed}:${STAGING_PINS}`);
    expect(after + "\n").toBe(
      before
        .replace(/(name: hydra[\s\S]*?version: )0\.62\.1/, "$10.62.2")
        .replaceAll("tag: v26.2.0", "tag: v26.3.0"),
    );
    expect(after).toContain(
      "# Chart versions and image tags of the Ory releases",
    );

    expect(hub.pulls).toHaveLength(1);
    const pull = hub.pulls[0];
    expect(pull?.head).toBe("promote/dev-to-staging");
    expect(pull?.base).toBe("main");
    expect(pull?.title).toBe(
      "Promote to staging: hydra chart 0.62.2 and image v26.3.0; kratos, keto image v26.3.0",
    );
    expect(pull?.body).toContain(
      "| service | what | from | to | source commit |",
    );
    expect(pull?.body).toContain(
      `| hydra | chart | \`0.62.1\` | \`0.62.2\` | ${bump} |`,
    );
    expect(pull?.body).toContain(
      `| keto | image | \`v26.2.0\` | \`v26.3.0\` | ${bump} |`,
    );
    expect(pull?.body).toContain("Passed: smoke/dev succeeded on that commit");
    expect(pull?.labels).toEqual(["promotion", "env:staging"]);
    expect(outcome.stdout).toContain("opened pull request #1");
  });

  test("second run updates it", async () => {
    const first = await bumpDev(fixture);
    hub.addStatus(first, "smoke/dev", "success");
    expect((await promote()).code).toBe(0);
    const second = await fixture.change(
      "environments/dev/ory/versions.yaml",
      [[/(name: kratos[\s\S]*?tag: )v26\.3\.0/, "$1v26.3.1"]],
      "Bump Kratos to v26.3.1 in dev",
    );
    hub.addStatus(second, "smoke/dev", "success");

    const outcome = await promote();

    expect(outcome.code).toBe(0);
    expect(hub.pulls).toHaveLength(1);
    const creates = hub.requests.filter(
      (request) => request.method === "POST" && request.path.endsWith("/pulls"),
    );
    expect(creates).toHaveLength(1);
    const updates = hub.requests.filter(
      (request) =>
        request.method === "PATCH" && request.path.endsWith("/pulls/1"),
    );
    expect(updates).toHaveLength(1);
    expect(hub.pulls[0]?.body).toContain(
      `| kratos | image | \`v26.2.0\` | \`v26.3.1\` | ${second} |`,
    );
    const pushed = (await fixture.remoteHead(BRANCH)) as string;
    const main = await fixture.remoteHead("refs/heads/main");
    await git(fixture.work, "fetch", "--quiet", "origin", BRANCH);
    expect(
      await git(fixture.work, "rev-list", "--count", `${main}..${pushed}`),
    ).toBe("1");
    expect(outcome.stdout).toContain("updated pull request #1");
  });

  test("missing gate status refuses", async () => {
    await bumpDev(fixture);

    const outcome = await promote();

    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toContain("refused to promote dev to staging");
    expect(outcome.stdout).toContain("None of them has a smoke/dev status yet");
    expect(await fixture.remoteHead(BRANCH)).toBeNull();
    expect(hub.writes()).toEqual([]);
  });

  test("failed gate status refuses", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "failure");

    const outcome = await promote();

    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toContain(
      `The newest smoke/dev status is failure on ${bump.slice(0, 7)}`,
    );
    expect(hub.pulls).toEqual([]);
    expect(await fixture.remoteHead(BRANCH)).toBeNull();
  });

  test("status older than newest change refuses", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "success");
    await fixture.change(
      "apps/hydra/helmrelease.yaml",
      [["interval: 10m", "interval: 5m"]],
      "Reconcile Hydra more often",
    );

    const outcome = await promote();

    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toContain('"Reconcile Hydra more often"');
  });

  test("newer failure on descendant is noted", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "success");
    // A later commit that dev does not build from, tested and failed.
    const later = await fixture.change(
      "environments/production/ory/versions.yaml",
      [[/^# /, "# Production. "]],
      "Reword the production pins comment",
    );
    hub.addStatus(later, "smoke/dev", "failure");

    const outcome = await promote();

    expect(outcome.code).toBe(0);
    const note = `note: smoke/dev has since failed on ${later.slice(0, 7)}`;
    expect(outcome.stdout).toContain(note);
    expect(hub.pulls[0]?.body).toContain(
      `Note: smoke/dev has since failed on ${later.slice(0, 7)}`,
    );
  });

  test("force overrides gate and says so", async () => {
    await bumpDev(fixture);

    const outcome = await promote("--force");

    expect(outcome.code).toBe(0);
    expect(hub.pulls[0]?.body).toContain("**Overridden with `--force`.**");
    expect(outcome.stdout).toContain("gate (overridden by --force): refused");
  });

  test("human commit on branch is respected", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "success");
    expect((await promote()).code).toBe(0);
    const human = await fixture.pushAsSomeoneElse(
      "promote/dev-to-staging",
      "environments/staging/ory/values.yaml",
      "# replaced by a person\n",
    );
    const next = await fixture.change(
      "environments/dev/ory/versions.yaml",
      [[/(name: keto[\s\S]*?tag: )v26\.3\.0/, "$1v26.3.1"]],
      "Bump Keto to v26.3.1 in dev",
    );
    hub.addStatus(next, "smoke/dev", "success");
    const writesBefore = hub.writes().length;

    const outcome = await promote();

    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toContain(
      `has commits this tool did not make: ${human.slice(0, 7)} by Jane Operator`,
    );
    expect(await fixture.remoteHead(BRANCH)).toBe(human);
    expect(hub.writes()).toHaveLength(writesBefore);
  });

  test("amended tool commit is respected", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "success");
    expect((await promote()).code).toBe(0);
    const other = `${fixture.root}/amending-clone`;
    await git(
      fixture.root,
      "clone",
      "--quiet",
      "--branch",
      "promote/dev-to-staging",
      fixture.remote,
      other,
    );
    const pushed = await git(other, "show", `HEAD:${STAGING_PINS}`);
    const edited = pushed.replace(/tag: v26\.3\.0/, "tag: v26.3.9");
    expect(edited).not.toBe(pushed);
    await writeFile(`${other}/${STAGING_PINS}`, edited + "\n");
    await git(
      other,
      "-c",
      "user.name=Jane Operator",
      "-c",
      "user.email=jane@example.invalid",
      "commit",
      "--quiet",
      "--amend",
      "--no-edit",
      "--all",
    );
    await git(other, "push", "--quiet", "--force", "origin", "HEAD");
    const amended = await git(other, "rev-parse", "HEAD");
    expect(await git(other, "log", "-1", "--format=%B")).toContain(
      "Promoted-by-tool: dev -> staging",
    );
    const writesBefore = hub.writes().length;

    const outcome = await promote();

    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toContain(
      `has commits this tool did not make: ${amended.slice(0, 7)} by `,
    );
    expect(await fixture.remoteHead(BRANCH)).toBe(amended);
    expect(hub.writes()).toHaveLength(writesBefore);
  });

  test("unchanged tool commit is kept", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "success");
    expect((await promote()).code).toBe(0);
    const first = await fixture.remoteHead(BRANCH);

    const outcome = await promote();

    expect(outcome.code).toBe(0);
    expect(await fixture.remoteHead(BRANCH)).toBe(first);
  });

  test("502 then success is retried", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "success");
    hub.fail({
      method: "POST",
      path: /\/pulls$/,
      status: 502,
      body: { message: "Bad Gateway" },
    });

    const outcome = await promote();

    expect(outcome.code).toBe(0);
    const creates = hub.requests.filter(
      (request) => request.method === "POST" && request.path.endsWith("/pulls"),
    );
    expect(creates).toHaveLength(2);
    expect(hub.pulls).toHaveLength(1);
  });

  test("rate limit is waited out", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "success");
    hub.fail({
      method: "GET",
      path: /\/commits\/[0-9a-f]+\/status$/,
      status: 403,
      body: { message: "API rate limit exceeded" },
      headers: {
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(Math.floor(Date.now() / 1000)),
      },
    });

    const outcome = await promoteThrottled();

    expect(outcome.code).toBe(0);
    expect(outcome.stderr).toContain("GitHub rate limit on GET");
  });

  test("422 already exists updates instead", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "success");
    hub.pulls.push({
      number: 1,
      state: "open",
      title: "Promote to staging: opened by a concurrent run",
      body: "",
      head: "promote/dev-to-staging",
      base: "main",
      labels: [],
      comments: [],
    });
    // The first look-up misses the pull request, as a concurrent run's
    // would just before the other one opened it.
    hub.fail({ method: "GET", path: /\/pulls$/, status: 200, body: [] });

    const outcome = await promote();

    expect(outcome.code).toBe(0);
    expect(hub.pulls).toHaveLength(1);
    expect(hub.pulls[0]?.title).toContain("hydra chart 0.62.2");
    expect(outcome.stderr).toContain("already exists; updating it instead");
  });

  test("nothing to promote closes stale pull request", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "success");
    expect((await promote()).code).toBe(0);
    // Someone promotes by hand on main, so the pull request is stale.
    await fixture.change(
      STAGING_PINS,
      [
        [/(name: hydra[\s\S]*?version: )0\.62\.1/, "$10.62.2"],
        [/tag: v26\.2\.0/g, "tag: v26.3.0"],
      ],
      "Promote by hand",
    );

    const outcome = await promote();

    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain("closed the stale pull request #1");
    expect(hub.pulls[0]?.state).toBe("closed");
    expect(hub.pulls[0]?.comments[0]).toContain("nothing to promote any more");
  });

  test("only unpinned differences need hand edit", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "success");
    expect((await promote()).code).toBe(0);
    // Staging gets every value by hand but loses hydra's image line, which
    // dev still pins, so the tool has a difference it cannot edit.
    await fixture.change(
      STAGING_PINS,
      [
        [/(name: hydra[\s\S]*?version: )0\.62\.1/, "$10.62.2"],
        [/tag: v26\.2\.0/g, "tag: v26.3.0"],
        [
          /(name: hydra[\s\S]*?)\n  values:\n    image:\n      tag: v26\.3\.0/,
          "$1",
        ],
      ],
      "Promote by hand without the hydra image",
    );

    const outcome = await promote();

    expect(outcome.code).toBe(1);
    expect(outcome.stdout).not.toContain("nothing to promote");
    expect(outcome.stdout).toContain(
      "only where this tool cannot edit the target files: hydra image (ory)",
    );
    expect(hub.pulls[0]?.state).toBe("open");
  });

  test("nothing to promote without pull request", async () => {
    const outcome = await promote();

    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain("nothing to promote");
    expect(hub.writes()).toEqual([]);
  });

  test("dry run prints diff and pull request", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "success");

    const outcome = await promote("--dry-run");

    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain(`--- a/${STAGING_PINS}`);
    expect(outcome.stdout).toContain(
      "-      version: 0.62.1\n+      version: 0.62.2",
    );
    expect(outcome.stdout).toContain(
      "title: Promote to staging: hydra chart 0.62.2",
    );
    expect(outcome.stdout).toContain("| hydra | chart |");
    expect(await fixture.remoteHead(BRANCH)).toBeNull();
    expect(hub.writes()).toEqual([]);
  });

  test("dry run without token skips gate", async () => {
    await bumpDev(fixture);
    const variables = { INIT_CWD: fixture.work };

    const outcome = await promoteCommand(
      hub,
      fixture.work,
      ["dev", "staging", "--dry-run", "--format", "json"],
      variables,
    );

    expect(outcome.code).toBe(0);
    const result = JSON.parse(outcome.stdout);
    expect(result.action).toBe("dry-run");
    expect(result.gate.state).toBe("not-checked");
    expect(hub.requests).toEqual([]);
  });

  test("missing token is exit 2", async () => {
    await bumpDev(fixture);

    const outcome = await promoteCommand(
      hub,
      fixture.work,
      ["dev", "staging"],
      {
        INIT_CWD: fixture.work,
      },
    );

    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain("GITHUB_TOKEN is not set");
  });

  test("unreachable GitHub is exit 2", async () => {
    const bump = await bumpDev(fixture);
    hub.addStatus(bump, "smoke/dev", "success");
    const variables = {
      ...githubVariables(hub, fixture.work),
      GITHUB_API_URL: "http://127.0.0.1:9",
    };

    const outcome = await promoteCommand(
      hub,
      fixture.work,
      ["dev", "staging"],
      variables,
    );

    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain("cannot be reached");
    expect(outcome.stderr).not.toContain(hub.token);
  });

  test("unreachable remote is exit 2", async () => {
    await git(
      fixture.work,
      "remote",
      "set-url",
      "origin",
      `${fixture.root}/missing.git`,
    );

    const outcome = await promote();

    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain("git ls-remote failed");
  });

  test("wrong number of arguments is exit 2", async () => {
    const outcome = await promoteCommand(hub, fixture.work, ["dev"]);

    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain("expected two environment names");
  });
});
