import { readFileSync } from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import type { OryService } from "../../tools/lib/environment.js";
import { oryValuesSchema } from "../../tools/validate/ory/values-schema.js";
import { resolveRef } from "../../tools/validate/schemas/index.js";
import {
  checkSchema,
  formatPath,
  isPlainObject,
  type FieldPath,
  type SchemaViolation,
} from "../../tools/validate/structural-schema.js";
import { KUBERNETES_YAML_SCHEMA } from "../../tools/validate/yaml-docs.js";

const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
const SERVICES: OryService[] = ["hydra", "kratos", "keto"];
const ENVIRONMENTS = ["dev", "staging", "production"];

type Values = Record<string, unknown>;

function readDocuments(relative: string): unknown[] {
  const text = readFileSync(path.join(REPO_ROOT, relative), "utf8");
  return yaml.loadAll(text, undefined, { schema: KUBERNETES_YAML_SCHEMA });
}

/** spec.values of the HelmRelease named `name` in `documents`, if any. */
function releaseValues(documents: unknown[], name: string): Values | undefined {
  for (const document of documents) {
    if (!isPlainObject(document)) continue;
    const metadata = document["metadata"];
    if (!isPlainObject(metadata) || metadata["name"] !== name) continue;
    const spec = document["spec"];
    if (!isPlainObject(spec)) continue;
    const values = spec["values"];
    return isPlainObject(values) ? values : undefined;
  }
  return undefined;
}

/**
 * Applies `patch` the way kustomize merges a patch into a custom resource:
 * mappings merge key by key, null removes a key, anything else replaces.
 */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const result: Values = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/**
 * Returns the values a release gets in `environment`: the base HelmRelease,
 * then the overlay's versions.yaml and values.yaml patches in kustomization
 * order.
 */
function mergedValues(service: OryService, environment: string): Values {
  const base = releaseValues(
    readDocuments(`apps/${service}/helmrelease.yaml`),
    service,
  );
  let values: unknown = base ?? {};
  for (const patchFile of ["versions.yaml", "values.yaml"]) {
    const documents = readDocuments(
      `environments/${environment}/ory/${patchFile}`,
    );
    const patch = releaseValues(documents, service);
    if (patch) values = mergePatch(values, patch);
  }
  if (service === "kratos") {
    // The kustomize build copies identity.schema.json into this value.
    const schema = readFileSync(
      path.join(REPO_ROOT, "apps/kratos/identity.schema.json"),
      "utf8",
    );
    values = mergePatch(values, {
      kratos: { identitySchemas: { "identity.default.schema.json": schema } },
    });
  }
  return values as Values;
}

function violationsOf(service: OryService, values: unknown): SchemaViolation[] {
  const violations: SchemaViolation[] = [];
  checkSchema(oryValuesSchema(service), values, resolveRef, violations);
  return violations;
}

/**
 * Returns a copy of `values` with `value` set at `at`. Missing parents are
 * created: a list where the next key is an index, a mapping otherwise.
 */
function withValue(values: Values, at: FieldPath, value: unknown): Values {
  const copy = structuredClone(values);
  let node: Record<string | number, unknown> = copy;
  for (const [index, key] of at.entries()) {
    const next = at[index + 1];
    if (next === undefined) {
      node[key] = value;
      break;
    }
    if (typeof node[key] !== "object" || node[key] === null) {
      node[key] = typeof next === "number" ? [] : {};
    }
    node = node[key] as Record<string | number, unknown>;
  }
  return copy;
}

describe("oryValuesSchema on this repository", () => {
  for (const service of SERVICES) {
    for (const environment of ENVIRONMENTS) {
      it(`accepts ${service} values in ${environment}`, () => {
        const values = mergedValues(service, environment);
        expect(values["image"]).toBeDefined();
        expect(violationsOf(service, values)).toEqual([]);
      });
    }
  }
});

interface UnknownKeyCase {
  service: OryService;
  at: FieldPath;
  suggestion?: string;
}

/** One misspelt key at every level the schema claims to be strict. */
const UNKNOWN_KEYS: UnknownKeyCase[] = [
  { service: "hydra", at: ["replicaCont"], suggestion: "replicaCount" },
  { service: "hydra", at: ["image", "tagg"], suggestion: "tag" },
  {
    service: "hydra",
    at: ["secret", "nameOveride"],
    suggestion: "nameOverride",
  },
  { service: "hydra", at: ["service", "public", "prot"], suggestion: "port" },
  { service: "hydra", at: ["service", "publik"], suggestion: "public" },
  {
    service: "hydra",
    at: ["ingress", "public", "classname"],
    suggestion: "className",
  },
  {
    service: "hydra",
    at: ["ingress", "public", "hosts", 0, "hots"],
    suggestion: "host",
  },
  {
    service: "hydra",
    at: ["ingress", "public", "hosts", 0, "paths", 0, "pathtype"],
    suggestion: "pathType",
  },
  { service: "hydra", at: ["deployment", "extraEnvs"], suggestion: "extraEnv" },
  {
    service: "hydra",
    at: ["deployment", "podMetadata", "label"],
    suggestion: "labels",
  },
  {
    service: "hydra",
    at: ["deployment", "automigration", "extraEnvs"],
    suggestion: "extraEnv",
  },
  {
    service: "hydra",
    at: ["deployment", "public", "extraEnvs"],
    suggestion: "extraEnv",
  },
  {
    service: "hydra",
    at: ["job", "spec", "backofLimit"],
    suggestion: "backoffLimit",
  },
  { service: "hydra", at: ["job", "nodeSelecter"], suggestion: "nodeSelector" },
  {
    service: "hydra",
    at: ["pdb", "spec", "minAvaliable"],
    suggestion: "minAvailable",
  },
  { service: "hydra", at: ["maester", "enable"], suggestion: "enabled" },
  {
    service: "hydra",
    at: ["cronjob", "janitor", "schedul"],
    suggestion: "schedule",
  },
  {
    service: "hydra",
    at: ["hydra", "automigraton"],
    suggestion: "automigration",
  },
  {
    service: "hydra",
    at: ["hydra", "automigration", "enable"],
    suggestion: "enabled",
  },
  { service: "hydra", at: ["hydra", "config", "logg"], suggestion: "log" },
  {
    service: "hydra",
    at: ["hydra", "config", "log", "levle"],
    suggestion: "level",
  },
  {
    service: "hydra",
    at: ["hydra", "config", "urls", "logn"],
    suggestion: "login",
  },
  {
    service: "hydra",
    at: ["hydra", "config", "urls", "self", "issure"],
    suggestion: "issuer",
  },
  {
    service: "hydra",
    at: ["hydra", "config", "serve", "cookie"],
    suggestion: "cookies",
  },
  {
    service: "hydra",
    at: ["hydra", "config", "serve", "public", "prot"],
    suggestion: "port",
  },
  {
    service: "hydra",
    at: ["hydra", "config", "secrets", "sytem"],
    suggestion: "system",
  },
  {
    service: "kratos",
    at: ["kratos", "developmnet"],
    suggestion: "development",
  },
  {
    service: "kratos",
    at: ["kratos", "config", "cipher"],
    suggestion: "ciphers",
  },
  {
    service: "kratos",
    at: ["kratos", "config", "selfservice", "default_browser_return_ur"],
    suggestion: "default_browser_return_url",
  },
  {
    service: "kratos",
    at: ["kratos", "config", "selfservice", "flows", "registraton"],
    suggestion: "registration",
  },
  {
    service: "kratos",
    at: ["kratos", "config", "selfservice", "methods", "pasword"],
    suggestion: "password",
  },
  {
    service: "kratos",
    at: ["kratos", "config", "serve", "public", "base_ur"],
    suggestion: "base_url",
  },
  {
    service: "kratos",
    at: ["kratos", "config", "serve", "admin", "prot"],
    suggestion: "port",
  },
  { service: "kratos", at: ["kratos", "config", "identity", "default_schema"] },
  {
    service: "kratos",
    at: ["kratos", "config", "identity", "schemas", 0, "uri"],
    suggestion: "url",
  },
  {
    service: "kratos",
    at: ["kratos", "config", "courier", "smpt"],
    suggestion: "smtp",
  },
  {
    service: "kratos",
    at: ["kratos", "config", "courier", "smtp", "from_adress"],
    suggestion: "from_address",
  },
  {
    service: "kratos",
    at: ["kratos", "config", "secrets", "defaults"],
    suggestion: "default",
  },
  {
    service: "kratos",
    at: ["statefulSet", "extraEnvs"],
    suggestion: "extraEnv",
  },
  { service: "kratos", at: ["courier", "enable"], suggestion: "enabled" },
  {
    service: "kratos",
    at: ["service", "courier", "containerPrt"],
    suggestion: "containerPort",
  },
  {
    service: "keto",
    at: ["keto", "config", "namespace"],
    suggestion: "namespaces",
  },
  {
    service: "keto",
    at: ["keto", "config", "serve", "reed"],
    suggestion: "read",
  },
  {
    service: "keto",
    at: ["keto", "config", "serve", "read", "prot"],
    suggestion: "port",
  },
  {
    service: "keto",
    at: ["keto", "automigration", "enable"],
    suggestion: "enabled",
  },
  {
    service: "keto",
    at: ["service", "read", "headless", "enable"],
    suggestion: "enabled",
  },
  {
    service: "keto",
    at: ["deployment", "extraLabel"],
    suggestion: "extraLabels",
  },
];

describe("oryValuesSchema unknown keys", () => {
  for (const { service, at, suggestion } of UNKNOWN_KEYS) {
    it(`reports ${service} ${formatPath(at)}`, () => {
      const values = withValue(mergedValues(service, "production"), at, "x");
      const violations = violationsOf(service, values);
      expect(violations.map((violation) => formatPath(violation.path))).toEqual(
        [formatPath(at)],
      );
      expect(violations[0]!.unknownField).toBe(true);
      if (suggestion) {
        expect(violations[0]!.message).toContain(
          `did you mean "${suggestion}"`,
        );
      }
    });
  }
});

interface WrongValueCase {
  name: string;
  service: OryService;
  at: FieldPath;
  value: unknown;
  message: string;
}

const WRONG_VALUES: WrongValueCase[] = [
  {
    name: "hydra service port as a string",
    service: "hydra",
    at: ["service", "public", "port"],
    value: "4444",
    message: 'must be an integer, not the string "4444"',
  },
  {
    name: "hydra config port as a string",
    service: "hydra",
    at: ["hydra", "config", "serve", "public", "port"],
    value: "4444",
    message: "must be an integer",
  },
  {
    name: "hydra dev as a string",
    service: "hydra",
    at: ["hydra", "dev"],
    value: "false",
    message: "must be a boolean",
  },
  {
    name: "hydra replicaCount as a string",
    service: "hydra",
    at: ["replicaCount"],
    value: "3",
    message: "must be an integer",
  },
  {
    name: "hydra system secrets as one string",
    service: "hydra",
    at: ["hydra", "config", "secrets", "system"],
    value: "a-secret-of-enough-length",
    message: "must be a list",
  },
  {
    name: "hydra cookie secret too short",
    service: "hydra",
    at: ["hydra", "config", "secrets", "cookie", 0],
    value: "short",
    message: "at least 16 character(s)",
  },
  {
    name: "hydra automigration type",
    service: "hydra",
    at: ["hydra", "automigration", "type"],
    value: "cronjob",
    message: '"cronjob" is not one of "job", "initContainer"',
  },
  {
    name: "hydra log level",
    service: "hydra",
    at: ["hydra", "config", "log", "level"],
    value: "verbose",
    message: "is not one of",
  },
  {
    name: "hydra extraEnv entry without a name",
    service: "hydra",
    at: ["deployment", "extraEnv", 0, "name"],
    value: null,
    message: 'missing required field "name"',
  },
  {
    name: "hydra ingress pathType",
    service: "hydra",
    at: ["ingress", "public", "hosts", 0, "paths", 0, "pathType"],
    value: "prefix",
    message: "is not one of",
  },
  {
    name: "hydra pdb minAvailable as a list",
    service: "hydra",
    at: ["pdb", "spec", "minAvailable"],
    value: [2],
    message: "must be an integer or a string",
  },
  {
    name: "kratos admin port out of range",
    service: "kratos",
    at: ["kratos", "config", "serve", "admin", "port"],
    value: 70000,
    message: "must be at most 65535, not 70000",
  },
  {
    name: "kratos identity schema as a mapping",
    service: "kratos",
    at: ["kratos", "identitySchemas", "identity.default.schema.json"],
    value: { type: "object" },
    message: "must be a string",
  },
  {
    name: "kratos SMTP URI scheme",
    service: "kratos",
    at: ["kratos", "config", "courier", "smtp", "connection_uri"],
    value: "https://smtp.example.com/",
    message: "does not match the pattern",
  },
  {
    name: "keto read port as a string",
    service: "keto",
    at: ["keto", "config", "serve", "read", "port"],
    value: "4466",
    message: "must be an integer",
  },
  {
    name: "keto namespace with a misspelt key",
    service: "keto",
    at: ["keto", "config", "namespaces", 0, "nmae"],
    value: "x",
    message: "matches none of the allowed forms",
  },
  {
    name: "keto topology spread without topologyKey",
    service: "keto",
    at: ["deployment", "topologySpreadConstraints", 0, "topologyKey"],
    value: null,
    message: 'missing required field "topologyKey"',
  },
];

describe("oryValuesSchema wrong values", () => {
  for (const { name, service, at, value, message } of WRONG_VALUES) {
    it(`reports ${name}`, () => {
      const values = withValue(mergedValues(service, "production"), at, value);
      const violations = violationsOf(service, values);
      expect(violations).toHaveLength(1);
      expect(violations[0]!.message).toContain(message);
      expect(violations[0]!.unknownField).toBeUndefined();
    });
  }
});

describe("oryValuesSchema alternatives", () => {
  it("accepts a kratos image as one string", () => {
    const values = withValue(
      mergedValues("kratos", "production"),
      ["image"],
      "oryd/kratos:v26.2.0",
    );
    expect(violationsOf("kratos", values)).toEqual([]);
  });

  it("accepts keto namespaces as an OPL location", () => {
    const values = withValue(
      mergedValues("keto", "production"),
      ["keto", "config", "namespaces"],
      { location: "file:///etc/config/namespaces.keto.ts" },
    );
    expect(violationsOf("keto", values)).toEqual([]);
  });

  it("accepts preserved objects below the strict levels", () => {
    const values = withValue(
      mergedValues("hydra", "production"),
      ["hydra", "config", "oauth2", "anything", "nested"],
      true,
    );
    expect(violationsOf("hydra", values)).toEqual([]);
  });
});
