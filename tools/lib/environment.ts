import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { Ajv, type ErrorObject } from "ajv";
import { parseDocument, LineCounter } from "yaml";
import { UsageError } from "./errors.js";

/**
 * The typed description of one environment, read from
 * `environments/<name>/environment.yaml`. It holds only facts that the
 * Kubernetes manifests do not: version pins are read from the built
 * manifests, never from here.
 */
export interface Environment {
  name: string;
  tier: Tier;
  /** Environment that receives this one's versions next, or null at the end. */
  promotesTo: string | null;
  aws: { region: string; zones: string[] };
  clusters: { ory: string; crdb: string | null };
  cockroachdb: CockroachDb;
  ory: {
    namespace: string;
    endpoints: OryEndpoints;
  };
  /** Kubernetes Secrets this environment provides outside git, with their keys. */
  secrets: SecretDeclaration[];
  databases: Record<OryService, ServiceDatabase>;
  smoke: SmokeSettings;
}

export type Tier = "dev" | "staging" | "production";
export const TIERS: readonly Tier[] = ["dev", "staging", "production"];

export type OryService = "hydra" | "kratos" | "keto";
export const ORY_SERVICES: readonly OryService[] = ["hydra", "kratos", "keto"];

export type TlsMode = "disable" | "require" | "verify-ca" | "verify-full";

export interface CockroachDb {
  /** in-cluster: the `<env>-crdb` cluster runs it; external: a managed cluster. */
  mode: "in-cluster" | "external";
  /** Stable DNS name that clients dial; it is also in the node certificate. */
  host: string;
  port: number;
  tls: {
    mode: TlsMode;
    /** Secret in the Ory namespace holding the cluster CA, or null in dev without TLS. */
    caSecret: SecretKeyRef | null;
    /** Path at which Ory pods mount the CA; the DSNs' `sslrootcert`. */
    caPath: string | null;
  };
}

export interface SecretKeyRef {
  name: string;
  key: string;
}

export type EndpointName =
  | "hydraPublic"
  | "hydraAdmin"
  | "kratosPublic"
  | "kratosAdmin"
  | "ketoRead"
  | "ketoWrite";

export const ENDPOINT_NAMES: readonly EndpointName[] = [
  "hydraPublic",
  "hydraAdmin",
  "kratosPublic",
  "kratosAdmin",
  "ketoRead",
  "ketoWrite",
];

/**
 * How one Ory API is reached. `service` and `port` name the Kubernetes
 * Service the chart creates; `url` is set only where the API is reachable
 * without the cluster's API server (public endpoints, or an internal URL that
 * the on-call runner can reach).
 */
export interface Endpoint {
  service: string;
  port: number;
  url: string | null;
  exposure: "internet" | "internal";
}

export type OryEndpoints = Record<EndpointName, Endpoint>;

export interface SecretDeclaration {
  name: string;
  namespace: string;
  keys: string[];
  /** Who creates it: the database bootstrap, or the team's own secret store. */
  createdBy: "bootstrap-databases" | "external";
}

export interface ServiceDatabase {
  database: string;
  user: string;
  /** Secret holding this service's `dsn` and application secrets. */
  secret: string;
}

export interface SmokeSettings {
  /** Runs write nothing unless asked; true by default in production. */
  readOnly: boolean;
  /** Read-only SQL user that `bootstrap databases` creates for the checks. */
  sqlUser: string;
  /** Secret (key `dsn`) holding that user's connection string. */
  sqlSecret: string;
  /** Keto namespace the writing run puts its relation tuples in. */
  ketoNamespace: string;
  fixtures: SmokeFixtures;
}

/** Data provisioned once for read-only runs, so they need not write. */
export interface SmokeFixtures {
  hydraClientId: string;
  /** Environment variable holding that client's secret on the runner. */
  hydraClientSecretEnv: string;
  ketoTuple: {
    namespace: string;
    object: string;
    relation: string;
    subjectId: string;
  };
}

const secretKeyRefSchema = {
  type: "object",
  additionalProperties: false,
  required: ["name", "key"],
  properties: {
    name: { $ref: "#/$defs/dnsName" },
    key: { type: "string", pattern: "^[-._a-zA-Z0-9]+$" },
  },
};

const endpointSchema = {
  type: "object",
  additionalProperties: false,
  required: ["service", "port", "url", "exposure"],
  properties: {
    service: { $ref: "#/$defs/dnsName" },
    port: { $ref: "#/$defs/port" },
    url: {
      anyOf: [
        { type: "string", pattern: "^https?://[^\\s/]+" },
        { type: "null" },
      ],
    },
    exposure: { enum: ["internet", "internal"] },
  },
};

const serviceDatabaseSchema = {
  type: "object",
  additionalProperties: false,
  required: ["database", "user", "secret"],
  properties: {
    database: { $ref: "#/$defs/sqlName" },
    user: { $ref: "#/$defs/sqlName" },
    secret: { $ref: "#/$defs/dnsName" },
  },
};

/** JSON Schema (draft 2020-12 subset) of `environment.yaml`. */
export const environmentSchema = {
  $id: "https://ory-crdb-gitops.example/environment.schema.json",
  title: "Environment",
  type: "object",
  additionalProperties: false,
  required: [
    "name",
    "tier",
    "promotesTo",
    "aws",
    "clusters",
    "cockroachdb",
    "ory",
    "secrets",
    "databases",
    "smoke",
  ],
  $defs: {
    dnsName: {
      type: "string",
      pattern:
        "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
      maxLength: 253,
    },
    sqlName: { type: "string", pattern: "^[a-z_][a-z0-9_]{0,62}$" },
    port: { type: "integer", minimum: 1, maximum: 65535 },
  },
  properties: {
    name: { type: "string", pattern: "^[a-z][a-z0-9-]{0,30}$" },
    tier: { enum: TIERS },
    promotesTo: {
      anyOf: [
        { type: "string", pattern: "^[a-z][a-z0-9-]{0,30}$" },
        { type: "null" },
      ],
    },
    aws: {
      type: "object",
      additionalProperties: false,
      required: ["region", "zones"],
      properties: {
        region: { type: "string", pattern: "^[a-z]{2}(-[a-z]+)+-[0-9]$" },
        zones: {
          type: "array",
          minItems: 3,
          uniqueItems: true,
          items: { type: "string", pattern: "^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$" },
        },
      },
    },
    clusters: {
      type: "object",
      additionalProperties: false,
      required: ["ory", "crdb"],
      properties: {
        ory: { $ref: "#/$defs/dnsName" },
        crdb: { anyOf: [{ $ref: "#/$defs/dnsName" }, { type: "null" }] },
      },
    },
    cockroachdb: {
      type: "object",
      additionalProperties: false,
      required: ["mode", "host", "port", "tls"],
      properties: {
        mode: { enum: ["in-cluster", "external"] },
        host: { $ref: "#/$defs/dnsName" },
        port: { $ref: "#/$defs/port" },
        tls: {
          type: "object",
          additionalProperties: false,
          required: ["mode", "caSecret", "caPath"],
          properties: {
            mode: { enum: ["disable", "require", "verify-ca", "verify-full"] },
            caSecret: { anyOf: [secretKeyRefSchema, { type: "null" }] },
            caPath: {
              anyOf: [{ type: "string", pattern: "^/" }, { type: "null" }],
            },
          },
        },
      },
    },
    ory: {
      type: "object",
      additionalProperties: false,
      required: ["namespace", "endpoints"],
      properties: {
        namespace: { $ref: "#/$defs/dnsName" },
        endpoints: {
          type: "object",
          additionalProperties: false,
          required: ENDPOINT_NAMES,
          properties: Object.fromEntries(
            ENDPOINT_NAMES.map((name) => [name, endpointSchema]),
          ),
        },
      },
    },
    secrets: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "namespace", "keys", "createdBy"],
        properties: {
          name: { $ref: "#/$defs/dnsName" },
          namespace: { $ref: "#/$defs/dnsName" },
          keys: {
            type: "array",
            minItems: 1,
            uniqueItems: true,
            items: { type: "string", pattern: "^[-._a-zA-Z0-9]+$" },
          },
          createdBy: { enum: ["bootstrap-databases", "external"] },
        },
      },
    },
    databases: {
      type: "object",
      additionalProperties: false,
      required: ORY_SERVICES,
      properties: Object.fromEntries(
        ORY_SERVICES.map((service) => [service, serviceDatabaseSchema]),
      ),
    },
    smoke: {
      type: "object",
      additionalProperties: false,
      required: [
        "readOnly",
        "sqlUser",
        "sqlSecret",
        "ketoNamespace",
        "fixtures",
      ],
      properties: {
        readOnly: { type: "boolean" },
        sqlUser: { $ref: "#/$defs/sqlName" },
        sqlSecret: { $ref: "#/$defs/dnsName" },
        ketoNamespace: { type: "string", minLength: 1 },
        fixtures: {
          type: "object",
          additionalProperties: false,
          required: ["hydraClientId", "hydraClientSecretEnv", "ketoTuple"],
          properties: {
            hydraClientId: { type: "string", minLength: 1 },
            hydraClientSecretEnv: {
              type: "string",
              pattern: "^[A-Z_][A-Z0-9_]*$",
            },
            ketoTuple: {
              type: "object",
              additionalProperties: false,
              required: ["namespace", "object", "relation", "subjectId"],
              properties: {
                namespace: { type: "string", minLength: 1 },
                object: { type: "string", minLength: 1 },
                relation: { type: "string", minLength: 1 },
                subjectId: { type: "string", minLength: 1 },
              },
            },
          },
        },
      },
    },
  },
} as const;

/** Path of an environment's model file relative to the repository root. */
export function environmentFile(name: string): string {
  return path.join("environments", name, "environment.yaml");
}

/** A problem in a model file, located for a person to fix. */
export interface ModelProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

let compiled: ReturnType<Ajv["compile"]> | undefined;

function validator() {
  compiled ??= new Ajv({ allErrors: true, strict: true }).compile(
    environmentSchema,
  );
  return compiled;
}

/**
 * Checks the text of one `environment.yaml` against the schema and the
 * facts the schema cannot express. Returns the parsed model when there is no
 * problem; `file` is only used in the problems' locations.
 */
export function parseEnvironment(
  text: string,
  file: string,
): { environment?: Environment; problems: ModelProblem[] } {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (document.errors.length > 0) {
    return {
      problems: document.errors.map((error) => {
        const at = lineCounter.linePos(error.pos[0]);
        return { file, line: at.line, column: at.col, message: error.message };
      }),
    };
  }

  const data: unknown = document.toJS();
  const validate = validator();
  const problems: ModelProblem[] = [];
  if (!validate(data)) {
    for (const error of validate.errors ?? []) {
      const at = locate(document, lineCounter, error.instancePath);
      problems.push({ file, ...at, message: describeSchemaError(error) });
    }
    return { problems };
  }

  const environment = data as Environment;
  const expectedName = path.basename(path.dirname(file));
  if (environment.name !== expectedName) {
    const at = locate(document, lineCounter, "/name");
    problems.push({
      file,
      ...at,
      message: `name "${environment.name}" differs from its folder "${expectedName}"; rename one so they match`,
    });
  }
  const secretNames = new Set(environment.secrets.map((secret) => secret.name));
  for (const service of ORY_SERVICES) {
    const secret = environment.databases[service].secret;
    if (!secretNames.has(secret)) {
      const at = locate(document, lineCounter, `/databases/${service}/secret`);
      problems.push({
        file,
        ...at,
        message: `databases.${service}.secret "${secret}" is not declared under secrets; add it with its keys`,
      });
    }
  }
  if (!secretNames.has(environment.smoke.sqlSecret)) {
    const at = locate(document, lineCounter, "/smoke/sqlSecret");
    problems.push({
      file,
      ...at,
      message: `smoke.sqlSecret "${environment.smoke.sqlSecret}" is not declared under secrets; add it with key "dsn"`,
    });
  }
  if (
    (environment.cockroachdb.mode === "in-cluster") !==
    (environment.clusters.crdb !== null)
  ) {
    const at = locate(document, lineCounter, "/clusters/crdb");
    problems.push({
      file,
      ...at,
      message:
        environment.cockroachdb.mode === "in-cluster"
          ? "cockroachdb.mode is in-cluster but clusters.crdb is null; name the CockroachDB cluster"
          : "cockroachdb.mode is external but clusters.crdb names a cluster; set it to null",
    });
  }
  return problems.length > 0 ? { problems } : { environment, problems };
}

function describeSchemaError(error: ErrorObject): string {
  const where =
    error.instancePath === ""
      ? "the file"
      : error.instancePath.slice(1).replaceAll("/", ".");
  switch (error.keyword) {
    case "additionalProperties":
      return `${where}: unknown field "${String(error.params.additionalProperty)}"; remove it or fix its spelling`;
    case "required":
      return `${where}: missing required field "${String(error.params.missingProperty)}"`;
    case "enum":
      return `${where}: must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    default:
      return `${where}: ${error.message ?? "is invalid"}`;
  }
}

function locate(
  document: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
  instancePath: string,
): { line: number; column: number } {
  const keys = instancePath
    .split("/")
    .slice(1)
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"));
  // Walk down to the deepest node that exists, so a missing field points at
  // its parent mapping.
  for (let depth = keys.length; depth >= 0; depth--) {
    const node = document.getIn(keys.slice(0, depth).map(toKey), true) as
      { range?: [number, number, number] } | undefined;
    if (node && typeof node === "object" && node.range) {
      const at = lineCounter.linePos(node.range[0]);
      return { line: at.line, column: at.col };
    }
  }
  return { line: 1, column: 1 };
}

function toKey(part: string): string | number {
  return /^\d+$/.test(part) ? Number(part) : part;
}

/**
 * Loads and checks one environment's model. Throws a UsageError naming the
 * file, line and fix when it is missing or invalid.
 */
export async function loadEnvironment(
  repoRoot: string,
  name: string,
): Promise<Environment> {
  const file = environmentFile(name);
  let text: string;
  try {
    text = await readFile(path.join(repoRoot, file), "utf8");
  } catch (error) {
    const known = await listEnvironmentNames(repoRoot);
    throw new UsageError(
      `environment "${name}" not found: ${file} does not exist. Known environments: ${known.join(", ") || "none"}`,
      { cause: error },
    );
  }
  const { environment, problems } = parseEnvironment(text, file);
  if (!environment) {
    throw new UsageError(
      `invalid environment model:\n` +
        problems
          .map((p) => `  ${p.file}:${p.line}:${p.column}: ${p.message}`)
          .join("\n"),
    );
  }
  return environment;
}

/** Names of the folders under `environments/` that hold an environment.yaml. */
export async function listEnvironmentNames(
  repoRoot: string,
): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(path.join(repoRoot, "environments"), {
      withFileTypes: true,
    });
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    try {
      await readFile(path.join(repoRoot, environmentFile(entry.name)));
      names.push(entry.name);
    } catch {
      // A folder without a model is not an environment.
    }
  }
  return names.sort();
}

/** Loads every environment, in promotion order (sources before targets). */
export async function loadAllEnvironments(
  repoRoot: string,
): Promise<Environment[]> {
  const names = await listEnvironmentNames(repoRoot);
  const environments = await Promise.all(
    names.map((name) => loadEnvironment(repoRoot, name)),
  );
  return orderByPromotion(environments);
}

/** Sorts environments so each comes before the one it promotes to. */
export function orderByPromotion(environments: Environment[]): Environment[] {
  const byName = new Map(environments.map((env) => [env.name, env]));
  const targets = new Set(
    environments.map((env) => env.promotesTo).filter(Boolean),
  );
  const ordered: Environment[] = [];
  const seen = new Set<string>();
  const starts = environments.filter((env) => !targets.has(env.name));
  for (const start of starts.length > 0 ? starts : environments.slice(0, 1)) {
    let current: Environment | undefined = start;
    while (current && !seen.has(current.name)) {
      seen.add(current.name);
      ordered.push(current);
      current = current.promotesTo ? byName.get(current.promotesTo) : undefined;
    }
  }
  for (const env of environments) if (!seen.has(env.name)) ordered.push(env);
  return ordered;
}
