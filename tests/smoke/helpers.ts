import { EventEmitter } from "node:events";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  parseEnvironment,
  type EndpointName,
} from "../../tools/lib/environment.js";
import { createLogger } from "../../tools/lib/log.js";
import { main, type SmokeDependencies } from "../../tools/smoke/command.js";

export const FIXTURE_CLIENT = {
  id: "ory-smoke-readonly",
  secret: "fixture-secret-value",
};
export const FIXTURE_TUPLE = {
  namespace: "documents",
  object: "ory-smoke-fixture",
  relation: "viewer",
  subject_id: "ory-smoke-reader",
};

export interface EnvironmentFixture {
  name?: string;
  tier?: "dev" | "staging" | "production";
  readOnly?: boolean;
  /** Endpoint URLs to put into the model; the rest stay null. */
  urls?: Partial<Record<EndpointName, string>>;
}

/**
 * Writes `environments/<name>/environment.yaml` into a new temporary
 * repository and checks it with the model's own parser. Returns the
 * repository's path.
 */
export async function makeRepository(
  fixture: EnvironmentFixture = {},
): Promise<string> {
  const repoRoot = await mkdtemp(path.join(os.tmpdir(), "smoke-repo-"));
  const name = fixture.name ?? "smoketest";
  const endpoint = (
    key: EndpointName,
    service: string,
    port: number,
    exposure: string,
  ) =>
    `{ service: ${service}, port: ${port}, url: ${fixture.urls?.[key] ?? "null"}, exposure: ${exposure} }`;
  const text = `name: ${name}
tier: ${fixture.tier ?? "dev"}
promotesTo: null
aws:
  region: eu-west-1
  zones: [eu-west-1a, eu-west-1b, eu-west-1c]
clusters:
  ory: ${name}-ory
  crdb: ${name}-crdb
cockroachdb:
  mode: in-cluster
  host: cockroachdb.${name}.example.internal
  port: 26257
  tls: { mode: disable, caSecret: null, caPath: null }
ory:
  namespace: ory
  endpoints:
    hydraPublic: ${endpoint("hydraPublic", "hydra-public", 4444, "internet")}
    hydraAdmin: ${endpoint("hydraAdmin", "hydra-admin", 4445, "internal")}
    kratosPublic: ${endpoint("kratosPublic", "kratos-public", 4434, "internet")}
    kratosAdmin: ${endpoint("kratosAdmin", "kratos-admin", 4433, "internal")}
    ketoRead: ${endpoint("ketoRead", "keto-read", 4466, "internal")}
    ketoWrite: ${endpoint("ketoWrite", "keto-write", 4467, "internal")}
secrets:
  - { name: hydra, namespace: ory, keys: [dsn], createdBy: bootstrap-databases }
  - { name: kratos, namespace: ory, keys: [dsn], createdBy: bootstrap-databases }
  - { name: keto, namespace: ory, keys: [dsn], createdBy: bootstrap-databases }
  - { name: ory-smoke, namespace: ory, keys: [dsn], createdBy: bootstrap-databases }
databases:
  hydra: { database: hydra, user: hydra, secret: hydra }
  kratos: { database: kratos, user: kratos, secret: kratos }
  keto: { database: keto, user: keto, secret: keto }
smoke:
  readOnly: ${fixture.readOnly ?? false}
  sqlUser: ory_smoke
  sqlSecret: ory-smoke
  ketoNamespace: documents
  fixtures:
    hydraClientId: ${FIXTURE_CLIENT.id}
    hydraClientSecretEnv: SMOKE_HYDRA_CLIENT_SECRET
    ketoTuple: { namespace: ${FIXTURE_TUPLE.namespace}, object: ${FIXTURE_TUPLE.object}, relation: ${FIXTURE_TUPLE.relation}, subjectId: ${FIXTURE_TUPLE.subject_id} }
`;
  const file = path.join("environments", name, "environment.yaml");
  const { problems } = parseEnvironment(text, file);
  if (problems.length > 0) {
    throw new Error(`fixture is invalid: ${JSON.stringify(problems)}`);
  }
  await mkdir(path.join(repoRoot, "environments", name), { recursive: true });
  await writeFile(path.join(repoRoot, file), text);
  return repoRoot;
}

export interface SmokeOutcome {
  exitCode: number;
  output: string;
  logs: string[];
}

/**
 * Runs the command in this process with a private signal source, so a test
 * never replaces this process's own SIGINT handling. A ToolError becomes
 * its exit code and message, as runCommand would print them.
 */
export async function runSmoke(
  argv: string[],
  deps: Partial<SmokeDependencies> & { repoRoot: string },
): Promise<SmokeOutcome> {
  let output = "";
  const logs: string[] = [];
  try {
    const exitCode = await main(argv, {
      environmentVariables: {},
      writeOutput: (text) => {
        output += text;
      },
      logger: createLogger("debug", (line) => logs.push(line)),
      signals: new EventEmitter(),
      exit: (code) => {
        throw new Error(`exit(${code}) called`);
      },
      ...deps,
    });
    return { exitCode, output, logs };
  } catch (error) {
    const exitCode = (error as { exitCode?: number }).exitCode;
    if (exitCode === undefined) throw error;
    logs.push(`error: ${(error as Error).message}`);
    return { exitCode, output, logs };
  }
}

/** Parses the JSON result that `--format json` printed. */
export function parseResult(output: string) {
  return JSON.parse(output) as {
    passed: boolean;
    interrupted: boolean;
    readOnly: boolean;
    runId: string;
    endpoints: { name: string; url: string; source: string }[];
    summary: { passed: number; failed: number; skipped: number };
    steps: {
      suite: string;
      name: string;
      status: string;
      durationMs: number;
      attempts: number;
      detail?: string;
      error?: string;
    }[];
    commitStatus?: { posted: boolean; state: string; context: string };
  };
}
