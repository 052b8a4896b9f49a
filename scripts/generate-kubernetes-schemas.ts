/**
 * Writes tools/validate/schemas/kubernetes.json from the model classes of
 * @kubernetes/client-node, which its authors generate from the Kubernetes
 * OpenAPI document (v1.34.0 for package version 1.4.0).
 *
 * Each class has a static getAttributeTypeMap() with the JSON field names and
 * TypeScript types, and its .d.ts file marks the fields that the OpenAPI
 * document lists as required (declared without `?`). The output keeps one
 * definition per model, refers to nested models as `{ "$ref": "<Model>" }`,
 * and maps every top-level kind as `"<apiVersion>/<Kind>": "<Model>"`.
 *
 * Usage: npx tsx scripts/generate-kubernetes-schemas.ts [--output FILE]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as kubernetes from "@kubernetes/client-node";
import {
  loggerFromFlag,
  parseCommandLine,
  runCommand,
} from "../tools/lib/cli.js";
import { EXIT_OK, type ExitCode } from "../tools/lib/errors.js";
import {
  GROUP_BY_CLASS_PREFIX,
  GROUP_BY_KIND,
  apiVersionOf,
  parseModelName,
} from "../tools/validate/schemas/kubernetes-groups.js";

type Schema = Record<string, unknown>;

interface Attribute {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

interface ModelClass {
  getAttributeTypeMap(): Attribute[];
}

/** Definition that top-level kinds use for `metadata`: ObjectMeta with a name. */
export const TOP_LEVEL_METADATA = "TopLevelObjectMeta";

/** Suffix of the copy of a top-level model that another model nests. */
const NESTED_SUFFIX = "Nested";

const DEFAULT_OUTPUT = "tools/validate/schemas/kubernetes.json";
const USAGE =
  "usage: npx tsx scripts/generate-kubernetes-schemas.ts [--output FILE]";

const require = createRequire(import.meta.url);
const MODELS_DIR = join(
  dirname(require.resolve("@kubernetes/client-node")),
  "gen",
  "models",
);

/** Returns every exported model class, keyed by class name. */
function loadModels(): Map<string, ModelClass> {
  const models = new Map<string, ModelClass>();
  for (const [name, value] of Object.entries(kubernetes)) {
    const candidate = value as Partial<ModelClass>;
    if (typeof candidate?.getAttributeTypeMap === "function") {
      models.set(name, candidate as ModelClass);
    }
  }
  return models;
}

/**
 * Returns the top-level kinds: models with apiVersion, kind and an
 * ObjectMeta `metadata`. List kinds and Status carry ListMeta, so they drop out.
 */
function findTopLevelModels(models: Map<string, ModelClass>): string[] {
  const topLevel: string[] = [];
  for (const [name, model] of models) {
    const attributes = model.getAttributeTypeMap();
    const field = (baseName: string) =>
      attributes.find((attribute) => attribute.baseName === baseName);
    if (
      field("apiVersion") &&
      field("kind") &&
      field("metadata")?.type === "V1ObjectMeta"
    ) {
      topLevel.push(name);
    }
  }
  return topLevel.sort();
}

/** Reads the JSON names of the fields that the model's .d.ts declares without `?`. */
function readRequired(className: string, attributes: Attribute[]): string[] {
  const declaration = readFileSync(
    join(MODELS_DIR, `${className}.d.ts`),
    "utf8",
  );
  const required: string[] = [];
  for (const match of declaration.matchAll(/^\s+'([^']+)':/gm)) {
    const attribute = attributes.find((item) => item.name === match[1]);
    if (!attribute) {
      throw new Error(
        `${className}.d.ts declares field '${match[1]}' that getAttributeTypeMap() lacks`,
      );
    }
    required.push(attribute.baseName);
  }
  return required.sort();
}

/** Converts one attribute type of the generated models into a structural schema. */
function typeToSchema(
  type: string,
  format: string,
  models: Map<string, ModelClass>,
  topLevel: Set<string>,
): Schema {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    return {
      type: "array",
      items: typeToSchema(array[1]!, format, models, topLevel),
    };
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    return {
      type: "object",
      additionalProperties: typeToSchema(map[1]!, format, models, topLevel),
    };
  }
  switch (type) {
    case "string":
      return format ? { type: "string", format } : { type: "string" };
    case "boolean":
      return { type: "boolean" };
    case "number":
      if (format === "int32" || format === "int64") {
        return { type: "integer", format };
      }
      return format ? { type: "number", format } : { type: "number" };
    case "Date":
    // MicroTime is a date-time with microseconds. The Kubernetes OpenAPI
    // document gives it format date-time too.
    case "V1MicroTime":
      return { type: "string", format: "date-time" };
    case "IntOrString":
      return { "x-kubernetes-int-or-string": true };
    case "any":
    case "object":
      return { "x-kubernetes-preserve-unknown-fields": true };
  }
  if (models.has(type)) {
    return { $ref: topLevel.has(type) ? type + NESTED_SUFFIX : type };
  }
  throw new Error(
    `unsupported attribute type '${type}' in the generated models`,
  );
}

/**
 * Fields of type resource.Quantity in the Kubernetes API. The generated
 * models type them as strings, but the API server also accepts plain
 * numbers such as `cpu: 1`.
 */
const QUANTITY_FIELDS = new Set([
  "V1ResourceRequirements.limits",
  "V1ResourceRequirements.requests",
  "V1VolumeResourceRequirements.limits",
  "V1VolumeResourceRequirements.requests",
  "V1EmptyDirVolumeSource.sizeLimit",
  "V1ResourceQuotaSpec.hard",
  "V1LimitRangeItem.default",
  "V1LimitRangeItem.defaultRequest",
  "V1LimitRangeItem.max",
  "V1LimitRangeItem.min",
  "V1LimitRangeItem.maxLimitRequestRatio",
  "V1PersistentVolumeSpec.capacity",
  "V1PodSpec.overhead",
  "V1Overhead.podFixed",
  "V1CSIStorageCapacity.capacity",
  "V1CSIStorageCapacity.maximumVolumeSize",
]);

function quantitySchema(type: string): Schema {
  const quantity: Schema = { "x-kubernetes-int-or-string": true };
  return type.startsWith("{")
    ? { type: "object", additionalProperties: quantity }
    : quantity;
}

/** Builds the faithful schema of one model, with references to other models. */
function modelSchema(
  className: string,
  models: Map<string, ModelClass>,
  topLevel: Set<string>,
): Schema {
  const attributes = models.get(className)!.getAttributeTypeMap();
  const properties: Record<string, Schema> = {};
  for (const attribute of attributes) {
    properties[attribute.baseName] = QUANTITY_FIELDS.has(
      `${className}.${attribute.baseName}`,
    )
      ? quantitySchema(attribute.type)
      : typeToSchema(attribute.type, attribute.format, models, topLevel);
  }
  const schema: Schema = { type: "object", properties };
  const required = readRequired(className, attributes);
  if (required.length > 0) schema.required = required;
  return schema;
}

/**
 * Tightens the schema of a top-level kind for manifests: apiVersion, kind and
 * metadata.name are required, and status is dropped because the API server
 * sets it.
 */
function topLevelSchema(schema: Schema): Schema {
  const properties = { ...(schema.properties as Record<string, Schema>) };
  delete properties.status;
  properties.metadata = { $ref: TOP_LEVEL_METADATA };
  const required = new Set((schema.required as string[] | undefined) ?? []);
  for (const field of ["apiVersion", "kind", "metadata"]) required.add(field);
  return { ...schema, properties, required: [...required].sort() };
}

/**
 * Returns the kinds table, rejecting a top-level class without a group and a
 * group table entry that no class uses, so the tables follow the package.
 */
function buildKinds(topLevel: string[]): Record<string, string> {
  const kinds: Record<string, string> = {};
  const usedKinds = new Set<string>();
  const usedPrefixes = new Set<string>();
  for (const className of topLevel) {
    const apiVersion = apiVersionOf(className);
    const name = parseModelName(className);
    if (apiVersion === undefined || name === undefined) {
      throw new Error(
        `no API group for model ${className}: add its kind to GROUP_BY_KIND or its prefix to GROUP_BY_CLASS_PREFIX in kubernetes-groups.ts`,
      );
    }
    if (name.prefix === undefined) usedKinds.add(name.kind);
    else usedPrefixes.add(name.prefix);
    kinds[`${apiVersion}/${name.kind}`] = className;
  }
  const unused = [
    ...Object.keys(GROUP_BY_KIND).filter((kind) => !usedKinds.has(kind)),
    ...Object.keys(GROUP_BY_CLASS_PREFIX).filter((p) => !usedPrefixes.has(p)),
  ];
  if (unused.length > 0) {
    throw new Error(
      `kubernetes-groups.ts has entries that match no model class: ${unused.join(", ")}`,
    );
  }
  return kinds;
}

/** Collects the definitions reachable from the top-level kinds. */
function buildDefinitions(
  models: Map<string, ModelClass>,
  topLevel: string[],
): Record<string, Schema> {
  const topLevelSet = new Set(topLevel);
  const definitions: Record<string, Schema> = {};
  const pending = [...topLevel, TOP_LEVEL_METADATA];

  while (pending.length > 0) {
    const name = pending.pop()!;
    if (definitions[name]) continue;

    let schema: Schema;
    if (name === TOP_LEVEL_METADATA) {
      // NOTE: metadata.generateName does not replace name here. Flux applies
      // with server-side apply, which addresses an object by its name.
      schema = modelSchema("V1ObjectMeta", models, topLevelSet);
      schema.required = ["name"];
    } else if (
      name.endsWith(NESTED_SUFFIX) &&
      topLevelSet.has(name.slice(0, -NESTED_SUFFIX.length))
    ) {
      schema = modelSchema(
        name.slice(0, -NESTED_SUFFIX.length),
        models,
        topLevelSet,
      );
    } else if (topLevelSet.has(name)) {
      schema = topLevelSchema(modelSchema(name, models, topLevelSet));
    } else {
      schema = modelSchema(name, models, topLevelSet);
    }
    definitions[name] = schema;

    for (const reference of collectReferences(schema)) pending.push(reference);
  }
  return definitions;
}

function collectReferences(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const item of node) collectReferences(item, found);
  } else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") found.push(value);
      else collectReferences(value, found);
    }
  }
  return found;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    }
    return sorted;
  }
  return value;
}

/**
 * Serializes with sorted keys and one definition or kind a line, so the output
 * is byte-for-byte stable and a model change shows as a one-line diff.
 */
function serialize(
  definitions: Record<string, Schema>,
  kinds: Record<string, string>,
): string {
  const section = (entries: Record<string, unknown>) =>
    Object.keys(entries)
      .sort()
      .map(
        (key) =>
          `    ${JSON.stringify(key)}: ${JSON.stringify(sortKeys(entries[key]))}`,
      )
      .join(",\n");
  return `{\n  "definitions": {\n${section(definitions)}\n  },\n  "kinds": {\n${section(kinds)}\n  }\n}\n`;
}

/** Builds the text of kubernetes.json from the installed package. */
export function generateKubernetesSchemas(): string {
  const models = loadModels();
  const topLevel = findTopLevelModels(models);
  const kinds = buildKinds(topLevel);
  const definitions = buildDefinitions(models, topLevel);
  return serialize(definitions, kinds);
}

async function main(): Promise<ExitCode> {
  const { values } = parseCommandLine(
    process.argv.slice(2),
    { output: { type: "string", default: DEFAULT_OUTPUT } },
    USAGE,
  );
  const log = loggerFromFlag(values["log-level"]);
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    return EXIT_OK;
  }

  const text = generateKubernetesSchemas();
  writeFileSync(String(values.output), text);
  log.info(`wrote ${values.output} (${text.length} bytes)`);
  return EXIT_OK;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runCommand(main);
}
