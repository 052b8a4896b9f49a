import { afterEach, describe, expect, it } from "vitest";
import type { CommitStatus } from "../../tools/smoke/github.js";
import { deleteIdentities } from "../../tools/smoke/checks/kratos-identities.js";
import { parseEndpointValue } from "../../tools/smoke/endpoints.js";
import {
  fetchHttpClient,
  OryApi,
  redactSecrets,
} from "../../tools/smoke/http.js";
import { redactText } from "../../tools/smoke/redact.js";
import { escapeXml } from "../../tools/smoke/junit.js";
import { parseDuration } from "../../tools/smoke/options.js";
import { newRunId, runStartedAt } from "../../tools/smoke/run-id.js";
import { freePort } from "../databases/helpers.js";
import { makeRepository, parseResult, runSmoke } from "./helpers.js";
import { startOryStandIns, type OryStandIns } from "./stand-ins/ory.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const running: OryStandIns[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((standIns) => standIns.close()));
});

async function start(options: Parameters<typeof startOryStandIns>[0] = {}) {
  const standIns = await startOryStandIns(options);
  running.push(standIns);
  return standIns;
}

describe("smoke command line", () => {
  it("exits 2 without an environment name", async () => {
    const repoRoot = await makeRepository();
    const { exitCode, logs } = await runSmoke([], { repoRoot });

    expect(exitCode).toBe(2);
    expect(logs.join("\n")).toContain("expected one environment name, got 0");
  });

  it("exits 2 for unknown --only entry", async () => {
    const repoRoot = await makeRepository();
    const { exitCode, logs } = await runSmoke(
      ["smoketest", "--only", "hydra,vault"],
      { repoRoot },
    );

    expect(exitCode).toBe(2);
    expect(logs.join("\n")).toContain("unknown vault");
  });

  it("exits 2 without any endpoint", async () => {
    const repoRoot = await makeRepository();
    const { exitCode, logs } = await runSmoke(
      [
        "smoketest",
        "--only",
        "keto",
        "--kubeconfig",
        "/nonexistent/kubeconfig",
      ],
      {
        repoRoot,
      },
    );

    expect(exitCode).toBe(2);
    const text = logs.join("\n");
    expect(text).toContain(
      "no endpoint for ketoRead (KETO_READ_REMOTE), ketoWrite (KETO_WRITE_REMOTE)",
    );
    expect(text).toContain("give a kubeconfig with context smoketest-ory");
  });

  it("prefers variables over model URLs", async () => {
    const standIns = await start();
    const repoRoot = await makeRepository({
      urls: {
        hydraPublic: "http://127.0.0.1:9",
        hydraAdmin: "http://127.0.0.1:9",
      },
    });
    const { exitCode, output } = await runSmoke(
      ["smoketest", "--only", "hydra", "--format", "json"],
      {
        repoRoot,
        environmentVariables: standIns.variables(),
      },
    );

    expect(exitCode).toBe(0);
    const sources = parseResult(output).endpoints.map(
      (endpoint) => endpoint.source,
    );
    expect(sources).toEqual(["HYDRA_PUBLIC_URL", "HYDRA_ADMIN_URL"]);
  });

  it("falls back to model URLs", async () => {
    const standIns = await start();
    const repoRoot = await makeRepository({
      urls: {
        ketoRead: `${standIns.urls.ketoRead}/`,
        ketoWrite: standIns.urls.ketoWrite,
      },
    });
    const { exitCode, output } = await runSmoke(
      ["smoketest", "--only", "keto", "--format", "json"],
      { repoRoot },
    );

    expect(exitCode).toBe(0);
    const endpoints = parseResult(output).endpoints;
    expect(endpoints.map((endpoint) => endpoint.source)).toEqual([
      "environments/smoketest/environment.yaml",
      "environments/smoketest/environment.yaml",
    ]);
    // The trailing slash is dropped, so paths join exactly.
    expect(endpoints[0]?.url).toBe(standIns.urls.ketoRead);
  });

  it("fails when an endpoint is down", async () => {
    const repoRoot = await makeRepository();
    const closed = await freePort();
    const { exitCode, output } = await runSmoke(
      ["smoketest", "--only", "keto", "--deadline", "0.5", "--format", "json"],
      {
        repoRoot,
        environmentVariables: {
          KETO_READ_REMOTE: `127.0.0.1:${closed}`,
          KETO_WRITE_REMOTE: `127.0.0.1:${closed}`,
        },
      },
    );

    expect(exitCode).toBe(1);
    const health = parseResult(output).steps.find(
      (step) => step.name === "health: read API",
    );
    expect(health?.error).toContain(
      "GET /health/alive (keto read) got no response: ECONNREFUSED",
    );
  });
});

describe("smoke options checks", () => {
  it("exits 2 for --only sql without DSN", async () => {
    const repoRoot = await makeRepository();
    const { exitCode, logs } = await runSmoke(["smoketest", "--only", "sql"], {
      repoRoot,
      environmentVariables: { CRDB_DSN: "" },
    });

    expect(exitCode).toBe(2);
    expect(logs.join("\n")).toContain(
      "--only sql selects only the SQL checks, but no DSN is set",
    );
  });

  it("says SQL checks were skipped", async () => {
    const standIns = await start();
    const repoRoot = await makeRepository();
    const json = await runSmoke(
      ["smoketest", "--only", "keto,sql", "--format", "json"],
      { repoRoot, environmentVariables: standIns.variables() },
    );
    const text = await runSmoke(["smoketest", "--only", "keto,sql"], {
      repoRoot,
      environmentVariables: standIns.variables(),
    });

    expect(json.exitCode).toBe(0);
    const result = JSON.parse(json.output) as {
      verdict: string;
      warnings: string[];
      summary: { skipped: number };
    };
    const skipped = result.summary.skipped;
    expect(skipped).toBeGreaterThan(0);
    expect(result.verdict).toMatch(
      new RegExp(`^PASSED \\(${skipped} skipped\\): `),
    );
    expect(result.warnings).toEqual([
      "SQL checks skipped: no SQL connection: pass --sql-dsn or set CRDB_DSN to the verification user's DSN",
    ]);
    expect(text.exitCode).toBe(0);
    expect(text.output).toContain(`PASSED (${skipped} skipped): `);
    expect(text.output).toContain("warning: SQL checks skipped");
  });

  it("rejects endpoint URL with credentials", async () => {
    const standIns = await start();
    const repoRoot = await makeRepository();
    const { exitCode, logs, output } = await runSmoke(
      ["smoketest", "--only", "hydra"],
      {
        repoRoot,
        environmentVariables: {
          ...standIns.variables(),
          HYDRA_ADMIN_URL: standIns.urls.hydraAdmin.replace(
            "http://",
            "http://admin:url-password@",
          ),
        },
      },
    );

    expect(exitCode).toBe(2);
    const text = logs.join("\n");
    expect(text).toContain("HYDRA_ADMIN_URL (http://127.0.0.1:");
    expect(text).toContain("credentials in a URL are not supported");
    expect(text + output).not.toContain("url-password");
    expect(standIns.requests).toEqual([]);
  });

  it("rejects model URL with credentials", async () => {
    const repoRoot = await makeRepository({
      urls: { ketoRead: "http://reader:model-password@127.0.0.1:9" },
    });
    const { exitCode, logs } = await runSmoke(["smoketest", "--only", "keto"], {
      repoRoot,
      environmentVariables: { KETO_WRITE_REMOTE: "127.0.0.1:9" },
    });

    expect(exitCode).toBe(2);
    const text = logs.join("\n");
    expect(text).toContain("ory.endpoints.ketoRead.url");
    expect(text).toContain("credentials in a URL are not supported");
    expect(text).not.toContain("model-password");
  });

  for (const [age, message] of [
    ["999999999d", "--sweep 999999999d is above the maximum of 3650d"],
    [
      "0s",
      "--sweep 0s is below the minimum of 10m: another run may be in progress",
    ],
    ["9m", "--sweep 9m is below the minimum of 10m"],
  ] as const) {
    it(`exits 2 for --sweep ${age}`, async () => {
      const repoRoot = await makeRepository();
      const { exitCode, logs } = await runSmoke(
        ["smoketest", "--read-write", "--sweep", age],
        { repoRoot },
      );

      expect(exitCode).toBe(2);
      expect(logs.join("\n")).toContain(message);
    });
  }
});

describe("kratos identity cleanup", () => {
  it("keeps other users when filter is ignored", async () => {
    const standIns = await start({
      // A Kratos that ignores credentials_identifier and returns everyone.
      override: (request) =>
        request.path === "/admin/identities" && request.method === "GET"
          ? {
              status: 200,
              json: [...standIns.kratos.identities.values()].map(
                (identity) => ({ id: identity.id, traits: identity.traits }),
              ),
            }
          : undefined,
    });
    const runEmail = `${newRunId()}@smoke.invalid`;
    const emails = {
      own: runEmail,
      user: "alice@example.com",
      otherRun: `${newRunId()}@smoke.invalid`,
      noTraits: undefined,
    };
    for (const [id, email] of Object.entries(emails)) {
      standIns.kratos.identities.set(id, {
        id,
        schema_id: "default",
        state: "active",
        traits: email === undefined ? {} : { email },
        password: "x",
      } as never);
    }
    const admin = new OryApi(
      "kratos admin",
      { url: standIns.urls.kratosAdmin, source: "test" },
      fetchHttpClient,
    );

    const detail = await deleteIdentities(admin, runEmail, undefined, {
      signal: new AbortController().signal,
    });

    expect(detail).toBe("deleted own");
    expect([...standIns.kratos.identities.keys()].sort()).toEqual([
      "noTraits",
      "otherRun",
      "user",
    ]);
  });

  it("deletes nothing without run prefix", async () => {
    const standIns = await start();
    standIns.kratos.identities.set("user", {
      id: "user",
      schema_id: "default",
      state: "active",
      traits: { email: "alice@example.com" },
      password: "x",
    } as never);
    const admin = new OryApi(
      "kratos admin",
      { url: standIns.urls.kratosAdmin, source: "test" },
      fetchHttpClient,
    );

    const detail = await deleteIdentities(
      admin,
      "alice@example.com",
      undefined,
      { signal: new AbortController().signal },
    );

    expect(detail).toBe("nothing to delete");
    expect(standIns.kratos.identities.has("user")).toBe(true);
  });
});

describe("smoke commit status", () => {
  function publisherSpy() {
    const posted: CommitStatus[] = [];
    return {
      posted,
      createPublisher: () => ({
        post: async (status: CommitStatus) => {
          posted.push(status);
        },
      }),
    };
  }
  const github = {
    GITHUB_TOKEN: "token-for-tests",
    GITHUB_REPOSITORY: "example/ory-crdb-gitops",
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_RUN_ID: "42",
  };

  it("posts success as smoke/<environment>", async () => {
    const standIns = await start();
    const repoRoot = await makeRepository();
    const spy = publisherSpy();
    const { exitCode } = await runSmoke(
      ["smoketest", "--only", "keto", "--commit-status", SHA],
      {
        repoRoot,
        environmentVariables: { ...standIns.variables(), ...github },
        createPublisher: spy.createPublisher,
      },
    );

    expect(exitCode).toBe(0);
    expect(spy.posted).toHaveLength(1);
    expect(spy.posted[0]).toMatchObject({
      sha: SHA,
      state: "success",
      context: "smoke/smoketest",
      targetUrl: "https://github.com/example/ory-crdb-gitops/actions/runs/42",
    });
  });

  it("posts failure naming the failed step", async () => {
    const standIns = await start({
      notReady: { ketoWrite: { migrations: "2 migrations are pending" } },
    });
    const repoRoot = await makeRepository();
    const spy = publisherSpy();
    const { exitCode } = await runSmoke(
      [
        "smoketest",
        "--only",
        "keto",
        "--deadline",
        "0.5",
        "--commit-status",
        SHA,
      ],
      {
        repoRoot,
        environmentVariables: { ...standIns.variables(), ...github },
        createPublisher: spy.createPublisher,
      },
    );

    expect(exitCode).toBe(1);
    expect(spy.posted[0]?.state).toBe("failure");
    expect(spy.posted[0]?.description).toContain("keto health: write API");
    expect(spy.posted[0]?.description.length).toBeLessThanOrEqual(140);
  });

  it("exits 2 before running without DSN", async () => {
    for (const dsn of [undefined, ""]) {
      const standIns = await start();
      const repoRoot = await makeRepository();
      const spy = publisherSpy();
      const { exitCode, logs } = await runSmoke(
        ["smoketest", "--commit-status", SHA],
        {
          repoRoot,
          environmentVariables: {
            ...standIns.variables(),
            ...github,
            CRDB_DSN: dsn,
          },
          createPublisher: spy.createPublisher,
        },
      );

      expect(exitCode).toBe(2);
      expect(logs.join("\n")).toContain(
        "--commit-status makes the SQL checks mandatory, but no DSN is set",
      );
      expect(standIns.requests).toEqual([]);
      expect(spy.posted).toEqual([]);
    }
  });

  it("mentions skipped steps in description", async () => {
    const standIns = await start();
    const repoRoot = await makeRepository();
    const spy = publisherSpy();
    const { exitCode, output } = await runSmoke(
      [
        "smoketest",
        "--only",
        "keto",
        "--deadline",
        "1",
        "--format",
        "json",
        "--commit-status",
        SHA,
      ],
      {
        repoRoot,
        environmentVariables: { ...standIns.variables(), ...github },
        createPublisher: spy.createPublisher,
      },
    );

    expect(exitCode).toBe(0);
    const skipped = parseResult(output).summary.skipped;
    expect(skipped).toBeGreaterThan(0);
    expect(spy.posted[0]?.state).toBe("success");
    expect(spy.posted[0]?.description).toContain(`, ${skipped} skipped in `);
  });

  it("exits 2 before running without GITHUB_TOKEN", async () => {
    const standIns = await start();
    const repoRoot = await makeRepository();
    const { exitCode, logs } = await runSmoke(
      ["smoketest", "--commit-status", SHA],
      {
        repoRoot,
        environmentVariables: standIns.variables(),
      },
    );

    expect(exitCode).toBe(2);
    expect(logs.join("\n")).toContain("--commit-status needs GITHUB_TOKEN");
    expect(standIns.requests).toEqual([]);
  });

  it("exits 1 when GitHub rejects", async () => {
    const standIns = await start();
    const repoRoot = await makeRepository();
    const { exitCode, output } = await runSmoke(
      ["smoketest", "--only", "keto", "--commit-status", SHA],
      {
        repoRoot,
        environmentVariables: { ...standIns.variables(), ...github },
        createPublisher: () => ({
          post: async () => {
            throw new Error("Resource not accessible by integration");
          },
        }),
      },
    );

    expect(exitCode).toBe(1);
    expect(output).toContain(
      "commit status smoke/smoketest not posted: Resource not accessible by integration",
    );
  });
});

describe("smoke helpers", () => {
  it("parses Keto host:port as HTTP", () => {
    expect(parseEndpointValue("KETO_READ_REMOTE", "keto-read.ory:4466")).toBe(
      "http://keto-read.ory:4466",
    );
  });

  it("drops a URL's trailing slash", () => {
    expect(
      parseEndpointValue("KRATOS_PUBLIC_URL", "https://id.example.com/kratos/"),
    ).toBe("https://id.example.com/kratos");
  });

  it("rejects an endpoint with a query", () => {
    expect(() =>
      parseEndpointValue("HYDRA_ADMIN_URL", "http://hydra:4445/?x=1"),
    ).toThrow(/query or fragment/);
  });

  it("reads start time from run id", () => {
    const id = newRunId(new Date("2025-03-04T05:06:07.890Z"));

    expect(id).toMatch(/^ory-smoke-20250304T050607Z-[0-9a-f]{6}$/);
    expect(runStartedAt(id)?.toISOString()).toBe("2025-03-04T05:06:07.000Z");
    expect(
      runStartedAt(`${id.toLowerCase()}@smoke.invalid`)?.toISOString(),
    ).toBe("2025-03-04T05:06:07.000Z");
    expect(runStartedAt("ory-smoke-readonly")).toBeUndefined();
  });

  it("redacts credentials inside strings", () => {
    expect(
      redactText(
        "Request cannot be constructed from a URL that includes credentials: http://admin:pw1@host/x",
      ),
    ).toBe(
      "Request cannot be constructed from a URL that includes credentials: http://admin:[redacted]@host/x",
    );
    expect(redactText("host=db password=pw2&user=u client_secret=pw3 ok")).toBe(
      "host=db password=[redacted]&user=u client_secret=[redacted] ok",
    );
    expect(redactText("postgresql://ory:pw4@db:26257/x?sslmode=on")).toBe(
      "postgresql://ory:[redacted]@db:26257/x?sslmode=on",
    );
  });

  it("redacts any credential-like key", () => {
    const redacted = redactSecrets({
      dsn: "postgres://u:pw5@h/db",
      api_key: "pw6",
      credentialsText: "pw7",
      SessionTokenValue: "pw8",
      database: "cannot connect to postgres://u:pw9@h/db",
      nested: [{ client_secret: "pw10", name: "kept" }],
    });

    expect(redacted).toEqual({
      dsn: "[redacted]",
      api_key: "[redacted]",
      credentialsText: "[redacted]",
      SessionTokenValue: "[redacted]",
      database: "cannot connect to postgres://u:[redacted]@h/db",
      nested: [{ client_secret: "[redacted]", name: "kept" }],
    });
  });

  it("parses sweep ages", () => {
    expect(parseDuration("90s", "--sweep")).toBe(90_000);
    expect(parseDuration("2h", "--sweep")).toBe(7_200_000);
    expect(() => parseDuration("2 hours", "--sweep")).toThrow(/not a duration/);
  });

  it("redacts credentials in response bodies", () => {
    const redacted = redactSecrets({
      client_secret: "s1",
      token_type: "bearer",
      session: { session_token: "s2" },
      ui: {
        nodes: [
          { attributes: { name: "password", type: "password", value: "s3" } },
        ],
      },
    });

    expect(JSON.stringify(redacted)).not.toMatch(/s1|s2|s3/);
    expect(JSON.stringify(redacted)).toContain('"token_type":"bearer"');
  });

  it("escapes XML special and control characters", () => {
    expect(escapeXml(`a<b & "c"\u0001`)).toBe("a&lt;b &amp; &quot;c&quot;");
  });
});
