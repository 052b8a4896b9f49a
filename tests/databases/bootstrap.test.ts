import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { parseAllDocuments, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  startKubernetesApiStandIn,
  type KubernetesApiStandIn,
} from "../stand-ins/kubernetes-api.js";
import {
  fixtureNames,
  freePort,
  makeRepo,
  runBootstrap,
  startPostgres,
  tryLogin,
  writeEnvironment,
  ADMIN_PASSWORD,
  type FixtureOptions,
  type TestPostgres,
} from "./helpers.js";

// One PostgreSQL server and one Kubernetes API stand-in for the file; each
// case uses its own environment, whose names carry the case's tag.
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

const SERVICES = ["hydra", "kratos", "keto"] as const;

async function prepare(
  name: string,
  options: Omit<FixtureOptions, "name" | "tag"> = {},
) {
  await writeEnvironment(repo, { name, tag: name, ...options });
  const kubeconfig = path.join(repo, `kubeconfig-${name}`);
  await api.writeKubeconfig(kubeconfig, `${name}-ory`);
  return {
    names: fixtureNames(name),
    args: [name, "--admin-dsn", server.adminDsn(), "--kubeconfig", kubeconfig],
  };
}

function secretOf(name: string): Record<string, string> {
  const data = api.decoded("ory", name);
  if (!data) throw new Error(`Secret ory/${name} was not written`);
  return data;
}

function passwordIn(dsn: string | undefined): string {
  return decodeURIComponent(new URL(dsn ?? "").password);
}

async function databaseExists(name: string): Promise<boolean> {
  const { rows } = await server.sql(
    `SELECT 1 FROM pg_database WHERE datname = '${name}'`,
  );
  return rows.length === 1;
}

/** Runs statements as `user` in `database`; returns "ok" or the SQLSTATE. */
async function runAs(
  user: string,
  password: string,
  database: string,
  sql: string,
): Promise<string> {
  const client = new pg.Client({
    host: "127.0.0.1",
    port: server.port,
    user,
    password,
    database,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query(sql);
    return "ok";
  } catch (error) {
    return String((error as { code?: string }).code);
  } finally {
    await client.end().catch(() => {});
  }
}

function patchesFor(tag: string) {
  return api.requests.filter(
    (request) =>
      request.method === "PATCH" && request.path.includes(`/${tag}-`),
  );
}

describe("bootstrap databases on PostgreSQL", () => {
  test("fresh server: plan changes nothing", async () => {
    const { names, args } = await prepare("plan");
    const result = await runBootstrap(args, { repoRoot: repo });
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain(
      `will create database ${names.hydra.database}`,
    );
    expect(result.output).toContain(`will create user ${names.smokeUser}`);
    expect(result.output).toContain("rerun with --apply");
    expect(await databaseExists(names.hydra.database)).toBe(false);
    expect(patchesFor("plan")).toHaveLength(0);
  });

  test("fresh server: apply creates users, databases and Secrets", async () => {
    const { names, args } = await prepare("fresh");
    const result = await runBootstrap([...args, "--apply"], { repoRoot: repo });
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain("12 checks passed");

    for (const service of SERVICES) {
      const { database, user, secret } = names[service];
      const dsn = new URL(secretOf(secret).dsn ?? "");
      expect(dsn.protocol).toBe("cockroach:");
      expect(dsn.username).toBe(user);
      expect(dsn.hostname).toBe("cockroachdb-public.fresh.example.internal");
      expect(dsn.port).toBe("26257");
      expect(dsn.pathname).toBe(`/${database}`);
      expect(dsn.searchParams.get("sslmode")).toBe("disable");
      expect(dsn.searchParams.get("max_conns")).toBe("20");
      expect(dsn.searchParams.get("max_idle_conns")).toBe("4");
      expect(dsn.searchParams.get("max_conn_lifetime")).toBe("30m");
      expect(dsn.password.length).toBeGreaterThanOrEqual(32);
      expect(await tryLogin(server.port, user, dsn.password, database)).toBe(
        "ok",
      );
    }
    const hydra = secretOf(names.hydra.secret);
    expect(hydra.secretsSystem?.length).toBeGreaterThanOrEqual(32);
    expect(hydra.secretsCookie?.length).toBeGreaterThanOrEqual(32);
    const kratos = secretOf(names.kratos.secret);
    expect(kratos.secretsDefault?.length).toBeGreaterThanOrEqual(32);
    expect(kratos.secretsCookie?.length).toBeGreaterThanOrEqual(32);
    expect(kratos.secretsCipher).toHaveLength(32);
    expect(Object.keys(secretOf(names.keto.secret))).toEqual(["dsn"]);

    const smoke = new URL(secretOf(names.smokeSecret).dsn ?? "");
    expect(smoke.protocol).toBe("postgresql:");
    expect(smoke.username).toBe(names.smokeUser);
    expect(
      await tryLogin(
        server.port,
        names.smokeUser,
        smoke.password,
        names.keto.database,
      ),
    ).toBe("ok");
  });

  test("second run plans and changes nothing", async () => {
    const { args } = await prepare("again");
    expect(
      (await runBootstrap([...args, "--apply"], { repoRoot: repo })).exitCode,
    ).toBe(0);
    const patches = patchesFor("again").length;
    const secrets = SERVICES.map((service) => secretOf(`again-${service}-db`));

    const plan = await runBootstrap(args, { repoRoot: repo });
    expect(plan.exitCode).toBe(0);
    expect(plan.output).toContain("Nothing to do");
    const applied = await runBootstrap([...args, "--apply"], {
      repoRoot: repo,
    });
    expect(applied.exitCode).toBe(0);
    expect(applied.logs.filter((line) => line.startsWith("ran "))).toEqual([]);
    expect(patchesFor("again")).toHaveLength(patches);
    expect(SERVICES.map((service) => secretOf(`again-${service}-db`))).toEqual(
      secrets,
    );
  });

  test("partly present: lost database and user come back", async () => {
    const { names, args } = await prepare("partly");
    expect(
      (await runBootstrap([...args, "--apply"], { repoRoot: repo })).exitCode,
    ).toBe(0);
    const before = SERVICES.map((service) => secretOf(names[service].secret));

    await server.sql(`DROP DATABASE ${names.keto.database} WITH (FORCE)`);
    await server.sql(
      `DROP OWNED BY ${names.kratos.user}`,
      names.kratos.database,
    );
    await server.sql(`DROP ROLE ${names.kratos.user}`);

    const plan = await runBootstrap(args, { repoRoot: repo });
    expect(plan.output).toContain(
      `will create database ${names.keto.database}`,
    );
    expect(plan.output).toContain(
      `will create user ${names.kratos.user} (with the password stored in Secret ory/${names.kratos.secret})`,
    );
    expect(plan.output).toContain(
      `exists      database ${names.hydra.database}`,
    );
    expect(plan.output).toContain(
      `will change public has no CONNECT on database ${names.keto.database}`,
    );

    const applied = await runBootstrap([...args, "--apply"], {
      repoRoot: repo,
    });
    expect(applied.exitCode).toBe(0);
    expect(SERVICES.map((service) => secretOf(names[service].secret))).toEqual(
      before,
    );
    const kratosPassword = passwordIn(before[1]?.dsn);
    expect(
      await tryLogin(
        server.port,
        names.kratos.user,
        kratosPassword,
        names.kratos.database,
      ),
    ).toBe("ok");
  });

  test("users made by hand are blocked until rotation", async () => {
    const { names, args } = await prepare("byhand");
    for (const service of SERVICES) {
      const { database, user } = names[service];
      await server.sql(`CREATE DATABASE ${database}`);
      await server.sql(`REVOKE CONNECT ON DATABASE ${database} FROM PUBLIC`);
      await server.sql(`CREATE USER ${user} PASSWORD 'made-by-hand'`);
    }
    await server.sql(`CREATE USER ${names.smokeUser} PASSWORD 'made-by-hand'`);

    const plan = await runBootstrap(args, { repoRoot: repo });
    expect(plan.exitCode).toBe(1);
    expect(plan.output).toContain(`blocked     user ${names.hydra.user}`);
    expect(plan.output).toContain(`--rotate-passwords ${names.hydra.user} `);
    expect(plan.output).toContain(
      "--regenerate-app-secrets hydra.secretsSystem,hydra.secretsCookie",
    );

    const blocked = await runBootstrap([...args, "--apply"], {
      repoRoot: repo,
    });
    expect(blocked.exitCode).toBe(1);
    expect(api.decoded("ory", names.hydra.secret)).toBeUndefined();
    expect(
      await tryLogin(
        server.port,
        names.hydra.user,
        "made-by-hand",
        names.hydra.database,
      ),
    ).toBe("ok");

    const rotated = await runBootstrap(
      [
        ...args,
        "--apply",
        "--rotate-passwords",
        "--regenerate-app-secrets",
        "hydra,kratos",
      ],
      { repoRoot: repo },
    );
    expect(rotated.exitCode).toBe(0);
    expect(
      await tryLogin(
        server.port,
        names.hydra.user,
        "made-by-hand",
        names.hydra.database,
      ),
    ).toBe("28P01");
    const password = passwordIn(secretOf(names.hydra.secret).dsn);
    expect(
      await tryLogin(
        server.port,
        names.hydra.user,
        password,
        names.hydra.database,
      ),
    ).toBe("ok");
    expect(rotated.output).toContain("rollout restart deployment/hydra");
    expect((await runBootstrap(args, { repoRoot: repo })).output).toContain(
      "Nothing to do",
    );
  });

  test("database made by hand keeps public's CONNECT", async () => {
    const { names, args } = await prepare("leftasis");
    await server.sql(`CREATE DATABASE ${names.hydra.database}`);
    const flags = ["--regenerate-app-secrets", "hydra"];

    const plan = await runBootstrap([...args, ...flags], { repoRoot: repo });
    expect(plan.exitCode).toBe(1);
    expect(plan.output).toContain(
      `FINDING     public has no CONNECT on database ${names.hydra.database} (this command did not create the database`,
    );
    const result = await runBootstrap([...args, ...flags, "--apply"], {
      repoRoot: repo,
    });
    expect(result.output).toContain(
      `FINDING     public has no CONNECT on database ${names.hydra.database} (this command did not create the database`,
    );
    expect(result.output).toContain(
      `FAILED      ${names.kratos.user} cannot read or create objects in ${names.hydra.database}`,
    );
    expect(result.exitCode).toBe(1);
    const { rows } = await server.sql(
      `SELECT has_database_privilege('public', '${names.hydra.database}', 'CONNECT') AS connect`,
    );
    expect(rows[0].connect).toBe(true);
  });

  test("rotation replaces passwords and keeps application secrets", async () => {
    const { names, args } = await prepare("rotate");
    expect(
      (await runBootstrap([...args, "--apply"], { repoRoot: repo })).exitCode,
    ).toBe(0);
    const before = SERVICES.map((service) => secretOf(names[service].secret));

    const result = await runBootstrap(
      [...args, "--apply", "--rotate-passwords"],
      { repoRoot: repo },
    );
    expect(result.exitCode).toBe(0);
    for (const [index, service] of SERVICES.entries()) {
      const { database, user, secret } = names[service];
      const after = secretOf(secret);
      const oldPassword = passwordIn(before[index]?.dsn);
      const newPassword = passwordIn(after.dsn);
      expect(newPassword).not.toBe(oldPassword);
      expect(await tryLogin(server.port, user, oldPassword, database)).toBe(
        "28P01",
      );
      expect(await tryLogin(server.port, user, newPassword, database)).toBe(
        "ok",
      );
      const { dsn: _old, ...kept } = before[index]!;
      const { dsn: _new, ...still } = after;
      expect(still).toEqual(kept);
      expect(result.output).toContain(
        `kubectl --context rotate-ory -n ory rollout restart deployment/${service}`,
      );
    }
    expect((await runBootstrap(args, { repoRoot: repo })).output).toContain(
      "Nothing to do",
    );
  });

  test("password changed by hand is set from the Secret", async () => {
    const { names, args } = await prepare("drift");
    expect(
      (await runBootstrap([...args, "--apply"], { repoRoot: repo })).exitCode,
    ).toBe(0);
    const stored = secretOf(names.hydra.secret);
    await server.sql(
      `ALTER USER ${names.hydra.user} PASSWORD 'changed-by-hand'`,
    );

    const plan = await runBootstrap(args, { repoRoot: repo });
    expect(plan.output).toContain("does not log in");
    const applied = await runBootstrap([...args, "--apply"], {
      repoRoot: repo,
    });
    expect(applied.exitCode).toBe(0);
    expect(secretOf(names.hydra.secret)).toEqual(stored);
    const { database, user } = names.hydra;
    expect(
      await tryLogin(server.port, user, passwordIn(stored.dsn), database),
    ).toBe("ok");
    expect(await tryLogin(server.port, user, "changed-by-hand", database)).toBe(
      "28P01",
    );
    expect(applied.output).toContain("rollout restart deployment/hydra");
  });

  test("service users are isolated; smoke user reads", async () => {
    const { names, args } = await prepare("isolate");
    expect(
      (await runBootstrap([...args, "--apply"], { repoRoot: repo })).exitCode,
    ).toBe(0);
    const hydra = passwordIn(secretOf(names.hydra.secret).dsn);
    const kratos = passwordIn(secretOf(names.kratos.secret).dsn);
    const smoke = passwordIn(secretOf(names.smokeSecret).dsn);
    const hydraDb = names.hydra.database;

    expect(
      await runAs(
        names.hydra.user,
        hydra,
        hydraDb,
        "CREATE TABLE clients (id int); INSERT INTO clients VALUES (1)",
      ),
    ).toBe("ok");
    expect(await runAs(names.kratos.user, kratos, hydraDb, "SELECT 1")).toBe(
      "42501",
    );
    expect(
      await runAs(names.hydra.user, hydra, names.keto.database, "SELECT 1"),
    ).toBe("42501");
    expect(
      await runAs(names.smokeUser, smoke, hydraDb, "SELECT id FROM clients"),
    ).toBe("ok");
    expect(
      await runAs(
        names.smokeUser,
        smoke,
        hydraDb,
        "CREATE TABLE nope (id int)",
      ),
    ).toBe("42501");
    expect(
      await runAs(
        names.smokeUser,
        smoke,
        hydraDb,
        "CREATE TEMPORARY TABLE scratch (id int)",
      ),
    ).toBe("42501");

    // A table the service user did not create gets no default privileges.
    await server.sql("CREATE TABLE admin_table (id int)", hydraDb);
    expect(
      await runAs(
        names.smokeUser,
        smoke,
        hydraDb,
        "SELECT id FROM admin_table",
      ),
    ).toBe("42501");
    const plan = await runBootstrap(args, { repoRoot: repo });
    expect(plan.output).toContain(`(1 table(s) without it: admin_table)`);
    expect(
      (await runBootstrap([...args, "--apply"], { repoRoot: repo })).exitCode,
    ).toBe(0);
    expect(
      await runAs(
        names.smokeUser,
        smoke,
        hydraDb,
        "SELECT id FROM admin_table",
      ),
    ).toBe("ok");
  });

  test("dropped connection: clear error, rerun completes", async () => {
    const { args } = await prepare("dropped");
    // Steps 0-3 write the four Secrets; step 8 is a statement mid-way.
    const terminate = async (step: number) => {
      if (step !== 8) return;
      await server.sql(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = 'bootstrap-databases'",
      );
    };
    const first = await runBootstrap([...args, "--apply"], {
      repoRoot: repo,
      beforeStep: terminate,
    });
    expect(first.exitCode).toBe(1);
    const error = first.logs.find((line) => line.startsWith("error: ")) ?? "";
    expect(error).toContain(`lost the connection to 127.0.0.1:${server.port}`);
    expect(error).toContain("run the same command again");

    const rerun = await runBootstrap([...args, "--apply"], { repoRoot: repo });
    expect(rerun.exitCode).toBe(0);
    expect((await runBootstrap(args, { repoRoot: repo })).output).toContain(
      "Nothing to do",
    );
  });

  test("bad admin password is exit 2 and never shown", async () => {
    const { args } = await prepare("badpw");
    const wrong = "Wrong-Admin-Password-42";
    const result = await runBootstrap(
      [...args.slice(0, 2), server.adminDsn(wrong), ...args.slice(3)],
      { repoRoot: repo },
    );
    expect(result.exitCode).toBe(2);
    const text = result.logs.join("\n");
    expect(text).toContain('authentication failed for user "postgres"');
    expect(text).toContain(
      `postgresql://postgres@127.0.0.1:${server.port}/postgres`,
    );
    expect(text).not.toContain(wrong);
  });

  test("unreachable port is exit 2 with causes", async () => {
    const { args } = await prepare("closed");
    const port = await freePort();
    const dsn = `postgresql://postgres:${ADMIN_PASSWORD}@127.0.0.1:${port}/postgres`;
    const result = await runBootstrap(
      [...args.slice(0, 2), dsn, ...args.slice(3)],
      { repoRoot: repo },
    );
    expect(result.exitCode).toBe(2);
    const text = result.logs.join("\n");
    expect(text).toContain(`cannot reach the database at 127.0.0.1:${port}`);
    expect(text).toContain("load balancer");
    expect(text).toContain("security group");
    expect(text).not.toContain(ADMIN_PASSWORD);
  });

  test("missing admin DSN is exit 2", async () => {
    const { args } = await prepare("nodsn");
    const result = await runBootstrap([args[0]!, ...args.slice(3)], {
      repoRoot: repo,
    });
    expect(result.exitCode).toBe(2);
    expect(result.logs.join("\n")).toContain(
      "missing admin connection: pass --admin-dsn URL or set CRDB_ADMIN_DSN",
    );
  });

  test("admin DSN from CRDB_ADMIN_DSN", async () => {
    const { args } = await prepare("envdsn");
    const result = await runBootstrap([args[0]!, ...args.slice(3)], {
      repoRoot: repo,
      env: { CRDB_ADMIN_DSN: server.adminDsn() },
    });
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain("will create database envdsn_hydra");
  });
});

describe("where the Secrets go", () => {
  test("secrets file is 0600 and stdout holds no secret", async () => {
    const { args } = await prepare("filestore");
    const file = path.join(repo, "filestore-secrets.yaml");
    const requests = api.requests.length;
    const result = await runBootstrap(
      [...args, "--apply", "--secrets-file", file],
      { repoRoot: repo },
    );
    expect(result.exitCode).toBe(0);
    expect(api.requests).toHaveLength(requests);
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const documents = parseAllDocuments(await readFile(file, "utf8")).map((d) =>
      d.toJS(),
    );
    expect(documents.map((d) => d.metadata.name).sort()).toEqual([
      "filestore-hydra-db",
      "filestore-keto-db",
      "filestore-kratos-db",
      "filestore-ory-smoke-db",
    ]);
    for (const document of documents) {
      const password = passwordIn(document.stringData.dsn);
      expect(result.output).not.toContain(password);
      expect(result.logs.join("\n")).not.toContain(password);
    }
    const again = await runBootstrap([...args, "--secrets-file", file], {
      repoRoot: repo,
    });
    expect(again.output).toContain("Nothing to do");
  });

  test("relative secrets file resolves against INIT_CWD", async () => {
    const { args } = await prepare("relative");
    const folder = await makeRepo();
    const result = await runBootstrap(
      [...args, "--apply", "--secrets-file", "out/secrets.yaml"],
      { repoRoot: repo, env: { INIT_CWD: folder } },
    );
    expect(result.exitCode).toBe(2);
    expect(result.logs.join("\n")).toContain(
      `cannot write --secrets-file ${path.join(folder, "out/secrets.yaml")}: folder ${path.join(folder, "out")} does not exist`,
    );
  });

  test("JSON result masks passwords", async () => {
    const { names, args } = await prepare("json");
    const result = await runBootstrap(
      [...args, "--apply", "--format", "json"],
      { repoRoot: repo },
    );
    expect(result.exitCode).toBe(0);
    const parsed = JSON.parse(result.output);
    expect(parsed.applied).toBe(true);
    expect(parsed.server.dialect).toBe("postgresql");
    expect(parsed.summary.create).toBeGreaterThan(0);
    expect(
      parsed.checks.every((check: { passed: boolean }) => check.passed),
    ).toBe(true);
    const user = parsed.items.find(
      (item: { subject: string }) =>
        item.subject === `user ${names.hydra.user}`,
    );
    expect(user.statements).toEqual([
      `CREATE USER "${names.hydra.user}" WITH PASSWORD '***'`,
    ]);
    for (const service of SERVICES) {
      const { dsn, ...applicationSecrets } = secretOf(names[service].secret);
      expect(result.output).not.toContain(passwordIn(dsn));
      for (const value of Object.values(applicationSecrets)) {
        expect(result.output).not.toContain(value);
      }
    }
  });

  test("staging writes verify-full DSNs and the CA Secret", async () => {
    const { names, args } = await prepare("staging", { tier: "staging" });
    const blocked = await runBootstrap(args, { repoRoot: repo });
    expect(blocked.exitCode).toBe(1);
    expect(blocked.output).toContain(
      `blocked     Secret ory/${names.caSecret} (no CA certificate given: pass --ca-cert FILE`,
    );

    const ca = path.join(repo, "staging-ca.crt");
    const pem =
      "-----BEGIN CERTIFICATE-----\nTUlJQ2FrZUNB\n-----END CERTIFICATE-----\n";
    await writeFile(ca, pem);
    const result = await runBootstrap([...args, "--apply", "--ca-cert", ca], {
      repoRoot: repo,
    });
    expect(result.exitCode).toBe(0);
    expect(secretOf(names.caSecret)["ca.crt"]).toBe(pem);
    const dsn = new URL(secretOf(names.hydra.secret).dsn ?? "");
    expect(dsn.searchParams.get("sslmode")).toBe("verify-full");
    expect(dsn.searchParams.get("sslrootcert")).toBe("/etc/cockroachdb/ca.crt");
    expect(secretOf(names.hydra.secret).dsn).toContain(
      "sslrootcert=/etc/cockroachdb/ca.crt",
    );
  });

  test("Secrets are read, then server-side applied", async () => {
    const { names, args } = await prepare("ssa");
    expect(
      (await runBootstrap([...args, "--apply"], { repoRoot: repo })).exitCode,
    ).toBe(0);

    const secretPath = `/api/v1/namespaces/ory/secrets/${names.hydra.secret}`;
    const requests = api.requests.filter(
      (request) => request.path === secretPath,
    );
    expect(requests.map((request) => request.method)).toEqual(["GET", "PATCH"]);

    const patch = requests[1]!;
    expect(patch.contentType).toBe("application/apply-patch+yaml");
    expect(patch.query.fieldManager).toBe("bootstrap-databases");
    expect(patch.query.force).toBe("true");
    const body = patch.body as {
      kind: string;
      metadata: {
        labels: Record<string, string>;
        annotations: Record<string, string>;
      };
      data: Record<string, string>;
    };

    expect(body.kind).toBe("Secret");
    expect(body.metadata.labels["app.kubernetes.io/managed-by"]).toBe(
      "bootstrap-databases",
    );
    expect(
      body.metadata.annotations["ory-crdb-gitops.example/created-database"],
    ).toBe(names.hydra.database);
    expect(Object.keys(body.data).sort()).toEqual([
      "dsn",
      "secretsCookie",
      "secretsSystem",
    ]);
  });

  test("existing Secret keeps its application secrets", async () => {
    const { names, args } = await prepare("keep");
    const kept = "kept-system-secret-0123456789abcdef";
    api.secrets.set(`ory/${names.hydra.secret}`, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: names.hydra.secret, namespace: "ory" },
      data: { secretsSystem: Buffer.from(kept).toString("base64") },
    });
    const result = await runBootstrap([...args, "--apply"], { repoRoot: repo });
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain(
      `changed     Secret ory/${names.hydra.secret} (keys dsn, secretsCookie)`,
    );
    expect(secretOf(names.hydra.secret).secretsSystem).toBe(kept);
  });
});

interface SecretDocument {
  metadata: { name: string; namespace?: string };
  stringData: Record<string, string>;
}

async function readSecretsFile(file: string): Promise<SecretDocument[]> {
  return parseAllDocuments(await readFile(file, "utf8")).map(
    (document) => document.toJS() as SecretDocument,
  );
}

/** Rewrites a secrets file after `edit` changed its documents. */
async function editSecretsFile(
  file: string,
  edit: (documents: SecretDocument[]) => void,
): Promise<void> {
  const documents = await readSecretsFile(file);
  edit(documents);
  await writeFile(
    file,
    documents.map((document) => stringify(document)).join("---\n"),
  );
}

function documentOf(documents: SecretDocument[], name: string) {
  const found = documents.find((document) => document.metadata.name === name);
  if (!found) throw new Error(`no document for Secret ${name}`);
  return found;
}

describe("Secrets in use", () => {
  test("missing app secret of a used database is blocked", async () => {
    const { names, args } = await prepare("appkey");
    const file = path.join(repo, "appkey-secrets.yaml");
    const withFile = [...args, "--secrets-file", file];
    expect(
      (await runBootstrap([...withFile, "--apply"], { repoRoot: repo }))
        .exitCode,
    ).toBe(0);
    const hydra = documentOf(await readSecretsFile(file), names.hydra.secret);
    expect(
      await runAs(
        names.hydra.user,
        passwordIn(hydra.stringData.dsn),
        names.hydra.database,
        "CREATE TABLE clients (id int)",
      ),
    ).toBe("ok");
    await editSecretsFile(file, (documents) => {
      delete documentOf(documents, names.hydra.secret).stringData.secretsSystem;
    });

    const plan = await runBootstrap(withFile, { repoRoot: repo });
    expect(plan.exitCode).toBe(1);
    expect(plan.output).toContain(
      `blocked     Secret ory/${names.hydra.secret} (Secret ory/${names.hydra.secret} lacks secretsSystem, but database ${names.hydra.database} already exists`,
    );
    expect(plan.output).toContain(
      "makes the data encrypted with the old one unreadable",
    );
    expect(plan.output).toContain("backup");
    expect(plan.output).toContain(
      "--regenerate-app-secrets hydra.secretsSystem",
    );
    const blocked = await runBootstrap([...withFile, "--apply"], {
      repoRoot: repo,
    });
    expect(blocked.exitCode).toBe(1);
    const unchanged = documentOf(
      await readSecretsFile(file),
      names.hydra.secret,
    );
    expect(unchanged.stringData.secretsSystem).toBeUndefined();
    expect(unchanged.stringData.secretsCookie).toBe(
      hydra.stringData.secretsCookie,
    );

    const regenerated = await runBootstrap(
      [
        ...withFile,
        "--apply",
        "--regenerate-app-secrets",
        "hydra.secretsSystem",
      ],
      { repoRoot: repo },
    );
    expect(regenerated.exitCode).toBe(0);
    const after = documentOf(await readSecretsFile(file), names.hydra.secret);
    expect(after.stringData.secretsSystem).toHaveLength(32);
    expect(after.stringData.secretsSystem).not.toBe(
      hydra.stringData.secretsSystem,
    );
    expect(after.stringData.dsn).toBe(hydra.stringData.dsn);
    expect(regenerated.output).toContain("rollout restart deployment/hydra");
  });

  test("one blocked user rotates alone", async () => {
    const { names, args } = await prepare("narrow");
    const file = path.join(repo, "narrow-secrets.yaml");
    const withFile = [...args, "--secrets-file", file];
    expect(
      (await runBootstrap([...withFile, "--apply"], { repoRoot: repo }))
        .exitCode,
    ).toBe(0);
    const before = await readSecretsFile(file);
    await editSecretsFile(file, (documents) => {
      delete documentOf(documents, names.hydra.secret).stringData.dsn;
    });

    const plan = await runBootstrap(withFile, { repoRoot: repo });
    expect(plan.exitCode).toBe(1);
    const summary = plan.output.trim().split("\n").at(-1);
    expect(summary).toMatch(/^2 items blocked; see above\. Nothing else to do/);
    expect(plan.output).toContain(
      `--apply --rotate-passwords ${names.hydra.user} `,
    );

    const rotated = await runBootstrap(
      [...withFile, "--apply", "--rotate-passwords", names.hydra.user],
      { repoRoot: repo },
    );
    expect(rotated.exitCode).toBe(0);
    const after = await readSecretsFile(file);
    for (const name of [
      names.kratos.secret,
      names.keto.secret,
      names.smokeSecret,
    ]) {
      expect(documentOf(after, name).stringData.dsn).toBe(
        documentOf(before, name).stringData.dsn,
      );
    }
    const hydra = documentOf(after, names.hydra.secret).stringData;
    expect(
      await tryLogin(
        server.port,
        names.hydra.user,
        passwordIn(hydra.dsn),
        names.hydra.database,
      ),
    ).toBe("ok");
    expect(rotated.output).toContain("rollout restart deployment/hydra");
    expect(rotated.output).not.toContain("rollout restart deployment/kratos");
    expect((await runBootstrap(withFile, { repoRoot: repo })).output).toContain(
      "Nothing to do",
    );
  });

  test("cross-service grant is a finding", async () => {
    const { names, args } = await prepare("cross");
    expect(
      (await runBootstrap([...args, "--apply"], { repoRoot: repo })).exitCode,
    ).toBe(0);
    await server.sql(
      `GRANT CONNECT ON DATABASE ${names.kratos.database} TO ${names.hydra.user}`,
    );
    const revoke = `REVOKE CONNECT ON DATABASE "${names.kratos.database}" FROM "${names.hydra.user}"`;

    const plan = await runBootstrap(args, { repoRoot: repo });
    expect(plan.exitCode).toBe(1);
    expect(plan.output).toContain(
      `FINDING     ${names.hydra.user} has no CONNECT on database ${names.kratos.database}`,
    );
    expect(plan.output).toContain(revoke);
    expect(plan.output).toContain("1 isolation finding; see above.");

    const applied = await runBootstrap([...args, "--apply"], {
      repoRoot: repo,
    });
    expect(applied.exitCode).toBe(1);
    expect(applied.output).toContain(revoke);
    const { rows } = await server.sql(
      `SELECT has_database_privilege('${names.hydra.user}', '${names.kratos.database}', 'CONNECT') AS connect`,
    );
    expect(rows[0].connect).toBe(true);
  });
});

describe("admin privileges", () => {
  test("admin without privileges stops before writing", async () => {
    const { args } = await prepare("weak");
    await server.sql("CREATE ROLE weak_admin LOGIN PASSWORD 'weak-admin-pw'");
    const dsn = `postgresql://weak_admin:weak-admin-pw@127.0.0.1:${server.port}/postgres`;
    for (const flags of [[], ["--apply"]]) {
      const result = await runBootstrap(
        [...args.slice(0, 2), dsn, ...args.slice(3), ...flags],
        { repoRoot: repo },
      );
      expect(result.exitCode).toBe(2);
      const text = result.logs.join("\n");
      expect(text).toContain('the admin user "weak_admin" lacks privileges');
      expect(text).toContain("CREATEDB");
      expect(text).toContain("CREATEROLE");
    }
    expect(patchesFor("weak")).toHaveLength(0);
  });

  test("CREATEDB and CREATEROLE admin applies", async () => {
    const { args } = await prepare("ddl");
    await server.sql(
      "CREATE ROLE ddl_admin LOGIN CREATEDB CREATEROLE PASSWORD 'ddl-admin-pw'",
    );
    const dsn = `postgresql://ddl_admin:ddl-admin-pw@127.0.0.1:${server.port}/postgres`;
    const adminArgs = [...args.slice(0, 2), dsn, ...args.slice(3)];
    const result = await runBootstrap([...adminArgs, "--apply"], {
      repoRoot: repo,
    });
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain("12 checks passed");

    // Users and databases that a superuser made are out of its reach.
    const { args: otherArgs } = await prepare("ddlother");
    expect(
      (await runBootstrap([...otherArgs, "--apply"], { repoRoot: repo }))
        .exitCode,
    ).toBe(0);
    const rejected = await runBootstrap(
      [...otherArgs.slice(0, 2), dsn, ...otherArgs.slice(3)],
      { repoRoot: repo },
    );
    expect(rejected.exitCode).toBe(2);
    const text = rejected.logs.join("\n");
    expect(text).toContain('membership in role "ddlother_hydra"');
    expect(text).toContain('ADMIN OPTION on role "ddlother_ory_smoke"');
    expect(text).toContain('ownership of database "ddlother_hydra"');
  });
});

describe("admin DSN messages", () => {
  test("lone % in the password is exit 2", async () => {
    const { args } = await prepare("percent");
    const dsn = `postgresql://special:p%40ss:w%2Frd%@127.0.0.1:${server.port}/postgres`;
    const result = await runBootstrap(
      [...args.slice(0, 2), dsn, ...args.slice(3)],
      { repoRoot: repo },
    );
    expect(result.exitCode).toBe(2);
    const text = result.logs.join("\n");
    expect(text).toContain(
      "the password in --admin-dsn contains a % that does not start a percent-encoded byte",
    );
    expect(text).toContain("% as %25");
    expect(text).not.toContain("p%40ss");
    expect(text).not.toContain("w%2Frd");
  });

  test("invalid CRDB_ADMIN_DSN is named", async () => {
    const { args } = await prepare("envbad");
    const result = await runBootstrap([args[0]!, ...args.slice(3)], {
      repoRoot: repo,
      env: { CRDB_ADMIN_DSN: "postgresql://root:Top@Secret@crdb:notaport/db" },
    });
    expect(result.exitCode).toBe(2);
    const text = result.logs.join("\n");
    expect(text).toContain("CRDB_ADMIN_DSN is not a valid URL");
    expect(text).toContain("percent-encode");
    expect(text).not.toContain("--admin-dsn");
    expect(text).not.toContain("Top@Secret");
  });

  test("DSN without a password says so", async () => {
    const { args } = await prepare("nopw");
    const dsn = `postgresql://postgres@127.0.0.1:${server.port}/postgres`;
    const result = await runBootstrap(
      [...args.slice(0, 2), dsn, ...args.slice(3)],
      { repoRoot: repo },
    );
    expect(result.exitCode).toBe(2);
    const text = result.logs.join("\n");
    expect(text).toContain(
      'asks user "postgres" for a password, but --admin-dsn contains none',
    );
    expect(text).not.toContain("SASL");
  });

  test("--repo selects the environment's repository", async () => {
    const { args } = await prepare("repoflag");
    const elsewhere = await makeRepo();
    const missing = await runBootstrap(args, { repoRoot: elsewhere });
    expect(missing.exitCode).toBe(2);
    const result = await runBootstrap(
      [...args, "--repo", path.basename(repo)],
      { repoRoot: elsewhere, env: { INIT_CWD: path.dirname(repo) } },
    );
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain("will create database repoflag_hydra");
  });
});
