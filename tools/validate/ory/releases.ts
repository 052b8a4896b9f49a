import yaml from "js-yaml";
import type { Environment, OryService, Tier } from "../../lib/environment.js";
import type { Finding, FindingSink } from "../findings.js";
import type { Locator } from "../locate.js";
import {
  describeObject,
  getPath,
  kindOf,
  nameOf,
  namespaceOf,
  type RenderedObject,
} from "../objects.js";
import { isPlainObject, type FieldPath } from "../structural-schema.js";
import { KUBERNETES_YAML_SCHEMA } from "../yaml-docs.js";

/** One HelmRelease of an Ory chart, with the values its pods will see. */
export interface OryRelease {
  object: RenderedObject;
  service: OryService;
  /** Helm release name: the chart derives Service and Secret names from it. */
  releaseName: string;
  /** Namespace the chart installs into. */
  namespace: string;
  /** valuesFrom merged in order, then spec.values on top, as helm-controller does. */
  values: Record<string, unknown>;
  /** True when some valuesFrom source is not in git, so values may hold more. */
  valuesIncomplete: boolean;
  /**
   * True when the cluster's environment model exists but is invalid: its
   * declared Secrets are unknown, and that model's own finding says why.
   */
  secretsUnknown: boolean;
  environment: Environment | undefined;
  /** The environment's tier; production when the repository has no model. */
  tier: Tier;
}

/** A Secret the cluster has: from git (maybe SOPS-encrypted) or the model. */
export interface KnownSecret {
  keys: Set<string>;
  source: "git" | "sops" | "environment-model";
  object?: RenderedObject;
}

/** Everything the Ory rules read, built once per run. */
export interface OryContext {
  releases: OryRelease[];
  objects: RenderedObject[];
  environments: Environment[];
  /** Secrets per cluster, keyed `namespace/name`. */
  secrets: Map<string, Map<string, KnownSecret>>;
  sink: FindingSink;
  locator: Locator;
}

const ORY_CHARTS: Record<string, OryService> = {
  hydra: "hydra",
  kratos: "kratos",
  keto: "keto",
};

/** Finds the Ory releases among the rendered objects. */
export function buildOryContext(
  objects: RenderedObject[],
  environments: Environment[],
  sink: FindingSink,
  locator: Locator,
  invalidModels = false,
): OryContext {
  const secrets = collectSecrets(objects, environments);
  const releases: OryRelease[] = [];
  for (const object of objects) {
    if (kindOf(object.data) !== "HelmRelease") continue;
    const chart = getPath(object.data, "spec", "chart", "spec", "chart");
    const service = typeof chart === "string" ? ORY_CHARTS[chart] : undefined;
    if (!service) continue;
    const environment = environmentOfCluster(
      environments,
      object.build.cluster,
    );
    const { values, incomplete } = mergeValues(object, objects);
    const namespace =
      stringAt(object.data, "spec", "targetNamespace") ??
      namespaceOf(object.data) ??
      "default";
    const name = nameOf(object.data) ?? service;
    const targetNamespace = stringAt(object.data, "spec", "targetNamespace");
    releases.push({
      object,
      service,
      releaseName:
        stringAt(object.data, "spec", "releaseName") ??
        (targetNamespace ? `${targetNamespace}-${name}` : name),
      namespace,
      values,
      valuesIncomplete: incomplete,
      secretsUnknown: environment === undefined && invalidModels,
      environment,
      tier: environment?.tier ?? "production",
    });
  }
  return { releases, objects, environments, secrets, sink, locator };
}

export function environmentOfCluster(
  environments: Environment[],
  cluster: string,
): Environment | undefined {
  return environments.find(
    (environment) =>
      environment.clusters.ory === cluster ||
      environment.clusters.crdb === cluster,
  );
}

function collectSecrets(
  objects: RenderedObject[],
  environments: Environment[],
): Map<string, Map<string, KnownSecret>> {
  const byCluster = new Map<string, Map<string, KnownSecret>>();
  const forCluster = (cluster: string) => {
    let secrets = byCluster.get(cluster);
    if (!secrets) byCluster.set(cluster, (secrets = new Map()));
    return secrets;
  };
  for (const environment of environments) {
    const secrets = forCluster(environment.clusters.ory);
    for (const declared of environment.secrets) {
      secrets.set(`${declared.namespace}/${declared.name}`, {
        keys: new Set(declared.keys),
        source: "environment-model",
      });
    }
  }
  for (const object of objects) {
    if (kindOf(object.data) !== "Secret") continue;
    const keys = new Set<string>();
    for (const field of ["data", "stringData"]) {
      const entries = object.data[field];
      if (isPlainObject(entries))
        for (const key of Object.keys(entries)) keys.add(key);
    }
    forCluster(object.build.cluster).set(
      `${namespaceOf(object.data) ?? "default"}/${nameOf(object.data)}`,
      { keys, source: object.encrypted ? "sops" : "git", object },
    );
  }
  return byCluster;
}

/**
 * Merges the values helm-controller passes to the chart: each valuesFrom
 * source in order (a whole YAML document, or one value at targetPath), then
 * spec.values over them.
 */
function mergeValues(
  release: RenderedObject,
  objects: RenderedObject[],
): { values: Record<string, unknown>; incomplete: boolean } {
  let merged: Record<string, unknown> = {};
  let incomplete = false;
  const namespace = namespaceOf(release.data) ?? "default";
  const sources = getPath(release.data, "spec", "valuesFrom");
  for (const source of Array.isArray(sources) ? sources : []) {
    if (!isPlainObject(source)) continue;
    const found = objects.find(
      (object) =>
        object.build.cluster === release.build.cluster &&
        kindOf(object.data) === source.kind &&
        nameOf(object.data) === source.name &&
        (namespaceOf(object.data) ?? "default") === namespace,
    );
    const key =
      typeof source.valuesKey === "string" ? source.valuesKey : "values.yaml";
    const text = found ? readDataKey(found, key) : undefined;
    if (text === undefined || found?.encrypted) {
      incomplete = true;
      continue;
    }
    if (typeof source.targetPath === "string") {
      merged = deepMerge(merged, nestAt(source.targetPath.split("."), text));
      continue;
    }
    try {
      const parsed = yaml.load(text, { schema: KUBERNETES_YAML_SCHEMA });
      if (isPlainObject(parsed)) merged = deepMerge(merged, parsed);
    } catch {
      incomplete = true;
    }
  }
  const values = getPath(release.data, "spec", "values");
  if (isPlainObject(values)) merged = deepMerge(merged, values);
  return { values: merged, incomplete };
}

function readDataKey(object: RenderedObject, key: string): string | undefined {
  const stringData = getPath(object.data, "stringData", key);
  if (typeof stringData === "string") return stringData;
  const data = getPath(object.data, "data", key);
  if (typeof data !== "string") return undefined;
  return kindOf(object.data) === "Secret"
    ? Buffer.from(data, "base64").toString("utf8")
    : data;
}

function nestAt(path: string[], value: unknown): Record<string, unknown> {
  let result: unknown = value;
  for (const key of [...path].reverse()) result = { [key]: result };
  return result as Record<string, unknown>;
}

/** Helm's merge: mappings merge key by key, anything else is replaced. */
export function deepMerge(
  base: Record<string, unknown>,
  overlay: Record<string, unknown>,
): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    const existing = result[key];
    result[key] =
      isPlainObject(existing) && isPlainObject(value)
        ? deepMerge(existing, value)
        : value;
  }
  return result;
}

function stringAt(data: unknown, ...keys: string[]): string | undefined {
  const value = getPath(data, ...keys);
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Reads a dotted path of the merged values. */
export function valueAt(release: OryRelease, path: string): unknown {
  return getPath(release.values, ...path.split("."));
}

/** Reports a finding located at a values path of the release. */
export function reportValue(
  context: OryContext,
  release: OryRelease,
  path: string | FieldPath,
  finding: Omit<Finding, "file" | "line" | "column" | "resource">,
): void {
  const fieldPath =
    typeof path === "string" ? (path === "" ? [] : path.split(".")) : path;
  const at = context.locator.locate(release.object, [
    "spec",
    "values",
    ...fieldPath,
  ]);
  context.sink.add({
    ...finding,
    ...at,
    resource: describeObject(release.object.data),
  });
}

/** Reports a finding at a field of any rendered object. */
export function reportObject(
  context: OryContext,
  object: RenderedObject,
  path: FieldPath,
  finding: Omit<Finding, "file" | "line" | "column" | "resource">,
): void {
  const at = context.locator.locate(object, path);
  context.sink.add({
    ...finding,
    ...at,
    resource: describeObject(object.data),
  });
}

/** The Secret named `name` in the release's cluster and namespace. */
export function findSecret(
  context: OryContext,
  release: OryRelease,
  name: string,
): KnownSecret | undefined {
  return context.secrets
    .get(release.object.build.cluster)
    ?.get(`${release.namespace}/${name}`);
}
