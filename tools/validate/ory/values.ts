import yaml from "js-yaml";
import {
  getPath,
  kindOf,
  nameOf,
  namespaceOf,
  type RenderedObject,
} from "../objects.js";
import { isPlainObject } from "../structural-schema.js";
import { YAML_LOAD_OPTIONS } from "../yaml-docs.js";

/** A ConfigMap or Secret key that a HelmRelease reads values from. */
export interface ValuesSource {
  object: RenderedObject;
  field: "data" | "stringData";
  key: string;
  /** Set when the key's text is one value placed at this path. */
  targetPath?: string[];
  /** The values this source contributed, before merging. */
  values: Record<string, unknown>;
}

/** The values helm-controller passes to a chart, with where they came from. */
export interface MergedValues {
  /** valuesFrom merged in order, then spec.values on top. */
  values: Record<string, unknown>;
  /** True when some valuesFrom source is not in git, so values may hold more. */
  incomplete: boolean;
  /** The valuesFrom source that last supplied each top-level key. */
  sources: Map<string, ValuesSource>;
}

/**
 * Merges the values helm-controller passes to the chart of any HelmRelease:
 * each valuesFrom source in order (a whole YAML document, or one value at
 * targetPath), then spec.values over them.
 */
export function mergeValues(
  release: RenderedObject,
  objects: RenderedObject[],
): MergedValues {
  let merged: Record<string, unknown> = {};
  let incomplete = false;
  const sources = new Map<string, ValuesSource>();
  const namespace = namespaceOf(release.data) ?? "default";
  const references = getPath(release.data, "spec", "valuesFrom");
  for (const reference of Array.isArray(references) ? references : []) {
    if (!isPlainObject(reference)) continue;
    const found = objects.find(
      (object) =>
        object.build.cluster === release.build.cluster &&
        kindOf(object.data) === reference.kind &&
        nameOf(object.data) === reference.name &&
        (namespaceOf(object.data) ?? "default") === namespace,
    );
    const key =
      typeof reference.valuesKey === "string"
        ? reference.valuesKey
        : "values.yaml";
    const entry = found ? readDataKey(found, key) : undefined;
    if (!found || entry === undefined || found.encrypted) {
      incomplete = true;
      continue;
    }
    let parsed: Record<string, unknown>;
    let targetPath: string[] | undefined;
    if (typeof reference.targetPath === "string") {
      targetPath = reference.targetPath.split(".");
      const value =
        reference.literal === true ? entry.text : typedSetValue(entry.text);
      parsed = nestAt(targetPath, value);
    } else {
      try {
        const document = yaml.load(entry.text, YAML_LOAD_OPTIONS);
        if (!isPlainObject(document)) continue;
        parsed = document;
      } catch {
        incomplete = true;
        continue;
      }
    }
    merged = deepMerge(merged, parsed);
    const source: ValuesSource = {
      object: found,
      field: entry.field,
      key,
      ...(targetPath ? { targetPath } : {}),
      values: parsed,
    };
    for (const topLevel of Object.keys(parsed)) sources.set(topLevel, source);
  }
  const values = getPath(release.data, "spec", "values");
  if (isPlainObject(values)) merged = deepMerge(merged, values);
  return { values: merged, incomplete, sources };
}

/**
 * Types a targetPath value the way helm-controller does, with the typedVal
 * function of Helm's `--set` parser (helm.sh/helm/v3/pkg/strvals). True,
 * false and null in any letter case become a boolean or null. A decimal
 * integer that does not start with 0, or 0 itself, becomes an integer.
 * Anything else stays a string.
 */
export function typedSetValue(text: string): unknown {
  const lower = text.toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  if (lower === "null") return null;
  if (text === "0") return 0;
  if (/^[+-]?\d+$/.test(text) && !text.startsWith("0")) {
    const number = Number(text);
    // strvals parses int64; a larger number stays a string.
    if (Number.isSafeInteger(number)) return number;
  }
  return text;
}

function readDataKey(
  object: RenderedObject,
  key: string,
): { text: string; field: "data" | "stringData" } | undefined {
  const stringData = getPath(object.data, "stringData", key);
  if (typeof stringData === "string")
    return { text: stringData, field: "stringData" };
  const data = getPath(object.data, "data", key);
  if (typeof data !== "string") return undefined;
  return {
    text:
      kindOf(object.data) === "Secret"
        ? Buffer.from(data, "base64").toString("utf8")
        : data,
    field: "data",
  };
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
