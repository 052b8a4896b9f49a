import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startSmokeDatabase, type SmokeDatabase } from "./database.js";
import {
  FIXTURE_CLIENT,
  FIXTURE_TUPLE,
  makeRepository,
  parseResult,
  runSmoke,
} from "./helpers.js";
import {
  leftovers,
  startOryStandIns,
  type OryStandInOptions,
  type OryStandIns,
} from "./stand-ins/ory.js";

let database: SmokeDatabase;
let repoRoot: string;
const running: OryStandIns[] = [];

beforeAll(async () => {
  database = await startSmokeDatabase();
  repoRoot = await makeRepository();
});
afterAll(async () => {
  await database?.stop();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((standIns) => standIns.close()));
});

async function start(options: OryStandInOptions = {}): Promise<OryStandIns> {
  const standIns = await startOryStandIns({
    mirror: database.mirror,
    ...options,
  });
  running.push(standIns);
  return standIns;
}

/** Runs a writing smoke run against `standIns` with SQL, as JSON. */
async function run(
  standIns: OryStandIns,
  extra: string[] = [],
  variables = {},
) {
  const outcome = await runSmoke(
    ["smoketest", "--format", "json", "--deadline", "1", ...extra],
    {
      repoRoot,
      environmentVariables: {
        ...standIns.variables(),
        CRDB_DSN: database.dsn,
        ...variables,
      },
    },
  );
  return {
    ...outcome,
    result: outcome.output ? parseResult(outcome.output) : undefined,
  };
}

function step(
  result: ReturnType<typeof parseResult> | undefined,
  suite: string,
  name: string,
) {
  const found = result?.steps.find(
    (entry) => entry.suite === suite && entry.name === name,
  );
  if (!found)
    throw new Error(
      `no step ${suite}: ${name} in ${JSON.stringify(result?.steps.map((entry) => entry.name))}`,
    );
  return found;
}

describe("smoke run against healthy stand-ins", () => {
  it("passes and leaves nothing behind", async () => {
    const standIns = await start();
    const { exitCode, result } = await run(standIns);

    expect(exitCode).toBe(0);
    expect(result?.passed).toBe(true);
    expect(result?.summary.failed).toBe(0);
    expect(result?.summary.skipped).toBe(0);
    expect(leftovers(standIns)).toEqual({
      clients: 0,
      identities: 0,
      tuples: 0,
    });
    const rows = await database.sql(
      "SELECT count(*)::int AS count FROM hydra_client",
      "hydra",
    );
    expect(rows.rows[0].count).toBe(0);
  });

  it("runs every SQL check", async () => {
    const standIns = await start();
    const { result } = await run(standIns);

    for (const [suite, name] of [
      ["hydra", "sql: client row"],
      ["hydra", "sql: access token row"],
      ["kratos", "sql: identity with password credential"],
      ["keto", "sql: tuple through the uuid mappings"],
      ["sql", "hydra migrations table"],
      ["sql", "kratos database answers"],
    ] as const) {
      expect(step(result, suite, name).status).toBe("passed");
    }
    expect(step(result, "sql", "keto migrations table").detail).toContain(
      "2 migrations applied",
    );
  });

  it("times steps and orders cleanup last", async () => {
    const standIns = await start();
    const { result } = await run(standIns);

    const hydra = result!.steps.filter((entry) => entry.suite === "hydra");
    expect(hydra[0]?.name).toBe("health: public API");
    expect(hydra.at(-1)?.name).toBe(
      "cleanup: delete the OAuth2 clients of this run",
    );
    for (const entry of result!.steps) {
      expect(entry.durationMs).toBeGreaterThanOrEqual(0);
    }
  });

  it("never prints client secrets or session tokens", async () => {
    const secrets: string[] = [];
    const standIns = await start({
      mirror: {
        ...database.mirror,
        async clientCreated(client) {
          secrets.push(client.client_secret);
          await database.mirror.clientCreated(client);
        },
      },
    });
    const { output, logs } = await run(standIns);

    for (const request of standIns.requests) {
      const sessionToken = request.headers["x-session-token"];
      if (typeof sessionToken === "string") secrets.push(sessionToken);
      const accessToken = (request.body as { token?: string } | undefined)
        ?.token;
      if (accessToken) secrets.push(accessToken);
    }
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    for (const secret of secrets) {
      expect(output).not.toContain(secret);
      expect(logs.join("\n")).not.toContain(secret);
    }
  });

  it("writes JUnit and job summary", async () => {
    const standIns = await start();
    const folder = await mkdtemp(path.join(os.tmpdir(), "smoke-report-"));
    const summaryFile = path.join(folder, "summary.md");
    const { exitCode, result } = await run(
      standIns,
      ["--junit", "reports/smoke.xml"],
      {
        INIT_CWD: folder,
        GITHUB_STEP_SUMMARY: summaryFile,
      },
    );

    expect(exitCode).toBe(0);
    const xml = await readFile(path.join(folder, "reports/smoke.xml"), "utf8");
    for (const suite of ["hydra", "kratos", "keto", "sql"]) {
      expect(xml).toContain(`<testsuite name="${suite}"`);
    }
    expect(xml.match(/<testcase /g)?.length).toBe(result!.steps.length);
    expect(xml).toMatch(/name="introspect token" time="\d+\.\d{3}"/);
    const summary = await readFile(summaryFile, "utf8");
    expect(summary).toContain("| hydra | introspect token | ✅ passed |");
  });
});

describe("smoke run against a failing service", () => {
  const cases: {
    suite: string;
    failing: string;
    override: OryStandInOptions["override"];
    expected: string;
  }[] = [
    {
      suite: "hydra",
      failing: "introspect token",
      override: (request) =>
        request.path === "/admin/oauth2/introspect"
          ? { status: 200, json: { active: false } }
          : undefined,
      expected: "returned active false",
    },
    {
      suite: "kratos",
      failing: "whoami with the session token",
      override: (request) =>
        request.path === "/sessions/whoami"
          ? {
              status: 500,
              json: { error: { code: 500, message: "database is locked" } },
            }
          : undefined,
      expected:
        'returned 500, expected 200: {"error":{"code":500,"message":"database is locked"}}',
    },
    {
      suite: "keto",
      failing: "write relation tuple in documents",
      override: (request) =>
        request.method === "PUT"
          ? {
              status: 500,
              json: { error: { code: 500, message: "transaction aborted" } },
            }
          : undefined,
      expected: "transaction aborted",
    },
  ];

  for (const testCase of cases) {
    it(`fails ${testCase.suite} alone and still cleans up`, async () => {
      const standIns = await start({ override: testCase.override });
      const { exitCode, result } = await run(standIns);

      expect(exitCode).toBe(1);
      const failed = result!.steps.filter((entry) => entry.status === "failed");
      expect(failed.map((entry) => `${entry.suite}: ${entry.name}`)).toEqual([
        `${testCase.suite}: ${testCase.failing}`,
      ]);
      expect(failed[0]?.error).toContain(testCase.expected);
      const others = result!.steps.filter(
        (entry) => entry.suite !== testCase.suite,
      );
      expect(others.every((entry) => entry.status === "passed")).toBe(true);
      expect(leftovers(standIns)).toEqual({
        clients: 0,
        identities: 0,
        tuples: 0,
      });
    });
  }

  it("fails SQL steps on a bad password", async () => {
    const standIns = await start();
    const wrongDsn = database.dsn.replace(/:[^:@/]+@/, ":wrong-password@");
    const { exitCode, result, logs } = await run(standIns, [], {
      CRDB_DSN: wrongDsn,
    });

    expect(exitCode).toBe(1);
    const sqlSteps = result!.steps.filter(
      (entry) => entry.name.startsWith("sql: ") || entry.suite === "sql",
    );
    expect(sqlSteps.some((entry) => entry.status === "passed")).toBe(false);
    const hydraRow = step(result, "hydra", "sql: client row");
    expect(hydraRow.error).toContain("authentication");
    expect(hydraRow.attempts).toBe(1);
    expect(step(result, "sql", "hydra database answers").status).toBe("failed");
    expect(step(result, "sql", "hydra migrations table").status).toBe("failed");
    const apiSteps = result!.steps.filter((entry) => !sqlSteps.includes(entry));
    expect(apiSteps.every((entry) => entry.status === "passed")).toBe(true);
    expect(logs.join("\n")).not.toContain("wrong-password");
  });

  it("prints the 503 error map", async () => {
    const standIns = await start({
      notReady: {
        kratosAdmin: {
          database: "dial tcp 10.0.3.7:26257: connect: connection refused",
        },
      },
    });
    const { exitCode, output } = await runSmoke(
      ["smoketest", "--deadline", "1", "--only", "kratos"],
      { repoRoot, environmentVariables: standIns.variables() },
    );

    expect(exitCode).toBe(1);
    expect(output).toContain(
      "GET /health/ready (kratos admin) returned 503, not ready: database: dial tcp 10.0.3.7:26257: connect: connection refused",
    );
    expect(output).toMatch(
      /kratos\s+registration \(API flow\)\s+skipped\s+"health: admin API" failed/,
    );
  });

  it("redacts secrets in the 503 error map", async () => {
    const standIns = await start({
      notReady: {
        kratosAdmin: {
          dsn: "cockroach://kratos:map-password-1@db:26257/kratos",
          database:
            "cannot reach postgres://kratos:map-password-2@db:26257/kratos?password=map-password-3",
        },
      },
    });
    const folder = await mkdtemp(path.join(os.tmpdir(), "smoke-redact-"));
    const junit = path.join(folder, "smoke.xml");
    const summary = path.join(folder, "summary.md");
    const variables = {
      ...standIns.variables(),
      GITHUB_STEP_SUMMARY: summary,
    };
    const text = await runSmoke(
      ["smoketest", "--deadline", "0.5", "--only", "kratos", "--junit", junit],
      { repoRoot, environmentVariables: variables },
    );
    const json = await runSmoke(
      [
        "smoketest",
        "--deadline",
        "0.5",
        "--only",
        "kratos",
        "--format",
        "json",
      ],
      { repoRoot, environmentVariables: variables },
    );

    expect(text.exitCode).toBe(1);
    expect(text.output).toContain("dsn: [redacted]");
    expect(text.output).toContain(
      "database: cannot reach postgres://kratos:[redacted]@db:26257/kratos?password=[redacted]",
    );
    const printed = [
      text.output,
      json.output,
      ...text.logs,
      ...json.logs,
      await readFile(junit, "utf8"),
      await readFile(summary, "utf8"),
    ].join("\n");
    expect(printed).toContain("[redacted]");
    expect(printed).not.toMatch(/map-password-\d/);
  });

  it("reports Keto denying after a write", async () => {
    const standIns = await start({
      override: (request) =>
        request.path === "/relation-tuples/check" &&
        request.query.subject_id?.endsWith("-reader")
          ? { status: 403, json: { allowed: false } }
          : undefined,
    });
    const { exitCode, result } = await run(standIns, ["--only", "keto"]);

    expect(exitCode).toBe(1);
    const allowed = step(result, "keto", "check is allowed");
    expect(allowed.status).toBe("failed");
    expect(allowed.attempts).toBeGreaterThan(1);
    expect(allowed.error).toContain('403: {"allowed":false}');
    expect(allowed.error).toContain(
      "check that namespace documents is configured",
    );
    expect(
      step(result, "keto", "cleanup: delete the relation tuple").status,
    ).toBe("passed");
    expect(standIns.keto.tuples).toEqual([]);
  });

  it("redacts secrets in error bodies", async () => {
    const standIns = await start({
      override: (request) =>
        request.path === "/oauth2/token"
          ? {
              status: 500,
              json: {
                access_token: "leaked-token-value",
                error: "server_error",
              },
            }
          : undefined,
    });
    const { result, output } = await run(standIns, ["--only", "hydra"]);

    expect(
      step(result, "hydra", "issue token (client credentials)").error,
    ).toContain('"access_token":"[redacted]"');
    expect(output).not.toContain("leaked-token-value");
  });
});

describe("read-only smoke run", () => {
  async function startWithFixtures(): Promise<OryStandIns> {
    const standIns = await start({
      fixtures: { hydraClient: FIXTURE_CLIENT, ketoTuples: [FIXTURE_TUPLE] },
    });
    await database.mirror.clientCreated({
      ...standIns.hydra.clients.get(FIXTURE_CLIENT.id)!,
    });
    await database.mirror.tupleWritten(FIXTURE_TUPLE);
    return standIns;
  }

  afterEach(async () => {
    await database.mirror.clientDeleted(FIXTURE_CLIENT.id);
    await database.mirror.tupleDeleted(FIXTURE_TUPLE);
  });

  it("sends no write request", async () => {
    const standIns = await startWithFixtures();
    const { exitCode, result } = await run(standIns, ["--read-only"], {
      SMOKE_HYDRA_CLIENT_SECRET: FIXTURE_CLIENT.secret,
    });

    expect(exitCode).toBe(0);
    expect(result?.readOnly).toBe(true);
    const reads = new Set(["GET", "HEAD"]);
    // Issuing and introspecting a token are the only POSTs a read-only run
    // sends, and neither creates a client, an identity, a flow or a tuple.
    const allowedPosts = new Set(["/oauth2/token", "/admin/oauth2/introspect"]);
    const writes = standIns.requests.filter(
      (request) =>
        !reads.has(request.method) &&
        !(request.method === "POST" && allowedPosts.has(request.path)),
    );
    expect(
      writes.map((request) => `${request.method} ${request.path}`),
    ).toEqual([]);
    const flows = standIns.requests.filter((request) =>
      request.path.startsWith("/self-service/"),
    );
    expect(flows).toEqual([]);
    expect(step(result, "hydra", "sql: fixture client row").status).toBe(
      "passed",
    );
    expect(
      step(result, "keto", "sql: tuple through the uuid mappings").status,
    ).toBe("passed");
  });

  it("is the production default", async () => {
    const productionRoot = await makeRepository({
      name: "prodlike",
      tier: "production",
    });
    const standIns = await startWithFixtures();
    const { exitCode, output } = await runSmoke(
      [
        "prodlike",
        "--format",
        "json",
        "--deadline",
        "1",
        "--only",
        "hydra,keto",
      ],
      { repoRoot: productionRoot, environmentVariables: standIns.variables() },
    );

    expect(exitCode).toBe(0);
    const result = parseResult(output);
    expect(result.readOnly).toBe(true);
    expect(step(result, "hydra", "issue token (fixture client)").detail).toBe(
      "SMOKE_HYDRA_CLIENT_SECRET is not set, so no token is requested for the fixture client",
    );
    expect(standIns.requests.some((request) => request.method !== "GET")).toBe(
      false,
    );
  });

  it("rejects --sweep", async () => {
    const standIns = await startWithFixtures();
    const { exitCode, logs } = await run(standIns, [
      "--read-only",
      "--sweep",
      "1h",
    ]);

    expect(exitCode).toBe(2);
    expect(logs.join("\n")).toContain(
      "--sweep deletes data, but this run is read-only",
    );
  });
});

describe("smoke sweep", () => {
  it("deletes only old leftovers", async () => {
    const standIns = await start({
      fixtures: { hydraClient: FIXTURE_CLIENT, ketoTuples: [FIXTURE_TUPLE] },
    });
    const old = "ory-smoke-20200101T000000Z-abcdef";
    const recentStamp = new Date(Date.now() - 60_000)
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z")
      .replaceAll(/[-:]/g, "");
    const recent = `ory-smoke-${recentStamp}-123456`;
    for (const owner of [old, recent]) {
      standIns.hydra.clients.set(`client-${owner}`, {
        client_id: `client-${owner}`,
        client_secret: "x",
        client_name: "ory-smoke",
        owner,
        grant_types: ["client_credentials"],
        token_endpoint_auth_method: "client_secret_basic",
        metadata: {},
        created_at: new Date().toISOString(),
      });
      standIns.kratos.identities.set(`identity-${owner}`, {
        id: `identity-${owner}`,
        schema_id: "default",
        state: "active",
        traits: { email: `${owner}@smoke.invalid` },
        password: "x",
      });
      standIns.keto.tuples.push({
        namespace: "documents",
        object: owner,
        relation: "viewer",
        subject_id: `${owner}-reader`,
      });
    }
    const { exitCode, result } = await run(standIns, ["--sweep", "1h"]);

    expect(exitCode).toBe(0);
    const sweeps = result!.steps.filter((entry) =>
      entry.name.startsWith("sweep: "),
    );
    expect(sweeps.map((entry) => `${entry.suite} ${entry.status}`)).toEqual([
      "hydra passed",
      "kratos passed",
      "keto passed",
    ]);
    expect([...standIns.hydra.clients.keys()].sort()).toEqual(
      [FIXTURE_CLIENT.id, `client-${recent}`].sort(),
    );
    expect([...standIns.kratos.identities.keys()]).toEqual([
      `identity-${recent}`,
    ]);
    expect(standIns.keto.tuples.map((tuple) => tuple.object).sort()).toEqual(
      [FIXTURE_TUPLE.object, recent].sort(),
    );
  });
});
