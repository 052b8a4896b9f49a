/**
 * Structural schemas for the Kubernetes and Flux kinds that validate checks.
 *
 * The data files beside this module are read with readFileSync on first use
 * and kept for the life of the process. Kubernetes schemas keep nested models
 * as `{ "$ref": "<Model>" }`, and `resolveRef` returns the definition behind a
 * name. Flux schemas have no references. Neither carries `status`, because a
 * manifest does not set it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The subset of OpenAPI v3 that Kubernetes CRDs use, as stored in the data
 * files. `$ref` appears only in the Kubernetes definitions.
 */
export interface StructuralSchema {
  $ref?: string;
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  properties?: Record<string, StructuralSchema>;
  required?: string[];
  additionalProperties?: boolean | StructuralSchema;
  items?: StructuralSchema;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
  oneOf?: StructuralSchema[];
  anyOf?: StructuralSchema[];
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  "x-kubernetes-validations"?: { rule: string; message?: string }[];
}

/** The contents of kubernetes.json. */
export interface KubernetesSchemaFile {
  definitions: Record<string, StructuralSchema>;
  /** Model name of each kind, keyed by `<apiVersion>/<Kind>`. */
  kinds: Record<string, string>;
}

/** The contents of one flux/<group>_<version>_<Kind>.json file. */
export interface FluxSchemaFile {
  apiVersion: string;
  kind: string;
  schema: StructuralSchema;
}

/** One entry of flux/removed.json. */
export interface RemovedApiVersion {
  apiVersion: string;
  /** Flux release whose CRDs no longer serve this version. */
  removedIn: string;
  current: string;
  /** Replacement for kinds whose current version differs from `current`. */
  currentByKind?: Record<string, string>;
  source: string;
}

const SCHEMAS_DIR = fileURLToPath(new URL(".", import.meta.url));

let kubernetesFile: KubernetesSchemaFile | undefined;
const fluxFiles = new Map<string, FluxSchemaFile | undefined>();
let removedVersions: Map<string, RemovedApiVersion> | undefined;

function readJson<T>(relativePath: string): T {
  return JSON.parse(readFileSync(join(SCHEMAS_DIR, relativePath), "utf8")) as T;
}

function loadKubernetes(): KubernetesSchemaFile {
  kubernetesFile ??= readJson<KubernetesSchemaFile>("kubernetes.json");
  return kubernetesFile;
}

/**
 * Returns the schema of a built-in Kubernetes kind, such as `apps/v1` and
 * `Deployment`, or undefined when @kubernetes/client-node does not model it.
 * Nested models stay as `$ref` nodes for `resolveRef`.
 */
export function kubernetesSchema(
  apiVersion: string,
  kind: string,
): StructuralSchema | undefined {
  const { definitions, kinds } = loadKubernetes();
  const model = kinds[`${apiVersion}/${kind}`];
  return model === undefined ? undefined : definitions[model];
}

/** Returns the Kubernetes definition named by a `$ref`, or undefined if none. */
export function resolveRef(name: string): StructuralSchema | undefined {
  return loadKubernetes().definitions[name];
}

/**
 * Returns the schema of a Flux kind in a version that current Flux serves,
 * or undefined for any other apiVersion and kind.
 */
export function fluxSchema(
  apiVersion: string,
  kind: string,
): StructuralSchema | undefined {
  const slash = apiVersion.indexOf("/");
  if (slash <= 0 || !/^[A-Za-z0-9]+$/.test(kind)) return undefined;
  const group = apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  if (!group.endsWith(".fluxcd.io") || !/^v\w+$/.test(version)) {
    return undefined;
  }

  const fileName = `flux/${group}_${version}_${kind}.json`;
  if (!fluxFiles.has(fileName)) {
    fluxFiles.set(fileName, readFluxFile(fileName));
  }
  return fluxFiles.get(fileName)?.schema;
}

function readFluxFile(fileName: string): FluxSchemaFile | undefined {
  try {
    return readJson<FluxSchemaFile>(fileName);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Returns the apiVersion to use in place of a Flux apiVersion that current
 * Flux has removed, or undefined when the version is still served or unknown.
 * Pass `kind` to get the replacement for notification.toolkit.fluxcd.io,
 * where Receiver moved to v1 but Alert and Provider to v1beta3.
 */
export function removedApiVersion(
  apiVersion: string,
  kind?: string,
): { current: string; removedIn: string } | undefined {
  if (!removedVersions) {
    const { removed } = readJson<{ removed: RemovedApiVersion[] }>(
      "flux/removed.json",
    );
    removedVersions = new Map(
      removed.map((entry) => [entry.apiVersion, entry]),
    );
  }

  const entry = removedVersions.get(apiVersion);
  if (!entry) return undefined;
  const current =
    (kind !== undefined ? entry.currentByKind?.[kind] : undefined) ??
    entry.current;
  return { current, removedIn: entry.removedIn };
}

/** Every `apiVersion/Kind` of the built-in Kubernetes kinds this package models. */
export function builtInKinds(): string[] {
  return Object.keys(loadKubernetes().kinds);
}
