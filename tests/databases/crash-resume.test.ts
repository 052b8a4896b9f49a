import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  startKubernetesApiStandIn,
  type KubernetesApiStandIn,
} from "../stand-ins/kubernetes-api.js";
import {
  fixtureNames,
  makeRepo,
  runBootstrap,
  startPostgres,
  tryLogin,
  writeEnvironment,
  type TestPostgres,
} from "./helpers.js";

// Stops a run before each of its side effects in turn, as a killed process
// would, then reruns it and checks that the job finishes with every value
// written before the crash kept.
let server: TestPostgres;
let api: KubernetesApiStandIn;
let repo: string;

beforeAll(async () => {
  [server, api, repo] = await Promise.all([
    startPostgres(),
    startKubernetesApiStandIn(),
    makeRepo(),
  ]);
});

afterAll(async () => {
  await Promise.all([server?.stop(), api?.close()]);
});

class SimulatedCrash extends Error {}

function crashAt(target: number) {
  return (step: number) => {
    if (step === target) throw new SimulatedCrash(`crash before step ${step}`);
  };
}

async function prepare(name: string) {
  await writeEnvironment(repo, { name, tag: name });
  const kubeconfig = path.join(repo, `kubeconfig-${name}`);
  await api.writeKubeconfig(kubeconfig, `${name}-ory`);
  return {
    names: fixtureNames(name),
    args: [name, "--admin-dsn", server.adminDsn(), "--kubeconfig", kubeconfig],
  };
}

/** Returns every Secret value of one case, keyed by "secret/key". */
function secretValues(tag: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const key of api.secrets.keys()) {
    const [namespace, name] = key.split("/") as [string, string];
    if (!name.startsWith(`${tag}-`)) continue;
    for (const [field, value] of Object.entries(
      api.decoded(namespace, name) ?? {},
    )) {
      values.set(`${name}/${field}`, value);
    }
  }
  return values;
}

async function countSteps(
  args: string[],
  flags: string[] = [],
): Promise<string[]> {
  const steps: string[] = [];
  const result = await runBootstrap([...args, "--apply", ...flags], {
    repoRoot: repo,
    beforeStep: (_step, description) => {
      steps.push(description);
    },
  });
  expect(result.exitCode).toBe(0);
  return steps;
}

/**
 * Crashes a run at `step`, reruns it with `rerunFlags`, and returns what
 * went wrong, or an empty list.
 */
async function crashAndRerun(
  tag: string,
  args: string[],
  step: number,
  flags: string[],
  rerunFlags: string[],
): Promise<string[]> {
  const problems: string[] = [];
  await expect(
    runBootstrap([...args, "--apply", ...flags], {
      repoRoot: repo,
      beforeStep: crashAt(step),
    }),
  ).rejects.toBeInstanceOf(SimulatedCrash);
  const written = secretValues(tag);

  const rerun = await runBootstrap([...args, "--apply", ...rerunFlags], {
    repoRoot: repo,
  });
  if (rerun.exitCode !== 0) {
    problems.push(
      `step ${step}: rerun exited ${rerun.exitCode}: ${rerun.logs.at(-1)}\n${rerun.output}`,
    );
  }
  const after = secretValues(tag);
  for (const [key, value] of written) {
    if (after.get(key) !== value)
      problems.push(`step ${step}: ${key} changed on rerun`);
  }
  const again = await runBootstrap(args, { repoRoot: repo });
  if (!again.output.includes("Nothing to do")) {
    problems.push(`step ${step}: third run still plans work:\n${again.output}`);
  }
  return problems;
}

/**
 * Runs `body` for steps 0 to count - 1, three at a time: the cases use
 * separate names, and the server works while this process waits.
 */
async function forEachStep(
  count: number,
  body: (step: number) => Promise<string[]>,
): Promise<string[]> {
  const problems: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const step = next++;
      problems.push(...(await body(step)));
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  return problems;
}

test("crash before each step of a fresh run, then rerun", async () => {
  const steps = await countSteps((await prepare("count")).args);
  // 4 Secrets, 6 statements per service, 10 for the smoke user. PostgreSQL
  // 15 and later need no schema revoke, and new databases have no tables.
  expect(steps).toHaveLength(32);

  const problems = await forEachStep(steps.length, async (step) => {
    const tag = `k${step}`;
    const { args } = await prepare(tag);
    return crashAndRerun(tag, args, step, [], []);
  });
  expect(problems).toEqual([]);
});

/**
 * Returns each user's password as stored in its Secret's DSN, with a
 * database the user may connect to.
 */
function storedPasswords(names: ReturnType<typeof fixtureNames>) {
  const users = [
    { ...names.hydra },
    { ...names.kratos },
    { ...names.keto },
    {
      user: names.smokeUser,
      secret: names.smokeSecret,
      database: names.hydra.database,
    },
  ];
  return users.map(({ user, secret, database }) => {
    const dsn = new URL(api.decoded("ory", secret)?.dsn ?? "");
    return { user, database, password: decodeURIComponent(dsn.password) };
  });
}

test("crash during rotation, then rerun without the flag", async () => {
  const { args: countArgs } = await prepare("rcount");
  await countSteps(countArgs);
  const steps = await countSteps(countArgs, ["--rotate-passwords"]);
  // 4 Secrets, then 4 ALTER USER statements.
  expect(steps).toHaveLength(8);

  const problems = await forEachStep(steps.length, async (step) => {
    const tag = `r${step}`;
    const { names, args } = await prepare(tag);
    expect(
      (await runBootstrap([...args, "--apply"], { repoRoot: repo })).exitCode,
    ).toBe(0);
    const before = secretValues(tag);
    const oldPasswords = storedPasswords(names);
    const found: string[] = [];

    await expect(
      runBootstrap([...args, "--apply", "--rotate-passwords"], {
        repoRoot: repo,
        beforeStep: crashAt(step),
      }),
    ).rejects.toBeInstanceOf(SimulatedCrash);
    const written = secretValues(tag);

    const rerun = await runBootstrap([...args, "--apply"], { repoRoot: repo });
    if (rerun.exitCode !== 0) {
      found.push(`step ${step}: rerun exited ${rerun.exitCode}`);
    }
    const after = secretValues(tag);
    for (const [key, value] of written) {
      if (value !== before.get(key) && after.get(key) !== value)
        found.push(`step ${step}: ${key} written before the crash changed`);
      if (!key.endsWith("/dsn") && after.get(key) !== value)
        found.push(`step ${step}: application secret ${key} changed`);
    }

    // A crash before the first Secret write leaves no trace of the
    // rotation, so nothing rotates; after it, every user must.
    const newPasswords = storedPasswords(names);
    for (const [
      index,
      { user, database, password },
    ] of newPasswords.entries()) {
      const old = oldPasswords[index]!.password;
      if (step > 0 && password === old)
        found.push(`step ${step}: ${user} kept its old password`);
      if (
        step > 0 &&
        (await tryLogin(server.port, user, old, database)) !== "28P01"
      )
        found.push(`step ${step}: old password of ${user} still logs in`);
      const login = await tryLogin(server.port, user, password, database);
      if (login !== "ok")
        found.push(`step ${step}: Secret password of ${user} gives ${login}`);
    }
    const again = await runBootstrap(args, { repoRoot: repo });
    if (!again.output.includes("Nothing to do")) {
      found.push(`step ${step}: third run still plans work:\n${again.output}`);
    }
    return found;
  });
  expect(problems).toEqual([]);
});
