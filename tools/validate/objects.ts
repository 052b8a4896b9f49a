import { isPlainObject } from "./structural-schema.js";

/** Source location of an object in the validated tree. */
export interface Origin {
  /** Path relative to the root, with forward slashes. */
  file: string;
  /** 1-based line of the object's document in that file. */
  line: number;
}

/** One output of building a Flux Kustomization's path. */
export interface Build {
  /** `namespace/name` of the Flux Kustomization, or "(root)" without one. */
  id: string;
  /** Path built, relative to the root ("." for the root itself). */
  path: string;
  /** Cluster the build is applied to, from `clusters/<name>/`; "" if unknown. */
  cluster: string;
  /** Location of the Flux Kustomization, when there is one. */
  declaredAt?: Origin;
  /** kustomization.yaml files the build read, for mapping patches back. */
  kustomizationFiles: string[];
  /** Whether Flux decrypts SOPS-encrypted objects in this build. */
  decryptsSops: boolean;
}

/** A Kubernetes object as Flux would apply it, with its source. */
export interface RenderedObject {
  data: Record<string, unknown>;
  origin: Origin;
  build: Build;
  /** Set when the object was SOPS-encrypted in git. */
  encrypted: boolean;
  /**
   * Set when `${VAR}` expressions remain because their values come from a
   * source outside git; such values cannot be checked here.
   */
  unresolved?: boolean;
}

export function apiVersionOf(data: unknown): string | undefined {
  return isPlainObject(data) && typeof data.apiVersion === "string"
    ? data.apiVersion
    : undefined;
}

export function kindOf(data: unknown): string | undefined {
  return isPlainObject(data) && typeof data.kind === "string"
    ? data.kind
    : undefined;
}

export function metadataOf(data: unknown): Record<string, unknown> {
  if (!isPlainObject(data) || !isPlainObject(data.metadata)) return {};
  return data.metadata;
}

export function nameOf(data: unknown): string | undefined {
  const name = metadataOf(data).name;
  return typeof name === "string" ? name : undefined;
}

export function namespaceOf(data: unknown): string | undefined {
  const namespace = metadataOf(data).namespace;
  return typeof namespace === "string" ? namespace : undefined;
}

/** Group part of an apiVersion: "" for the core group. */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash === -1 ? "" : apiVersion.slice(0, slash);
}

/** `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects. */
export function describeObject(data: unknown): string {
  const kind = kindOf(data) ?? "(no kind)";
  const name = nameOf(data) ?? "(no name)";
  const namespace = namespaceOf(data);
  return namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`;
}

/** True when the document has the fields every Kubernetes object needs. */
export function looksLikeKubernetesObject(
  data: unknown,
): data is Record<string, unknown> {
  return (
    isPlainObject(data) &&
    typeof data.apiVersion === "string" &&
    typeof data.kind === "string"
  );
}

export function isFluxKustomization(data: unknown): boolean {
  return (
    kindOf(data) === "Kustomization" &&
    (apiVersionOf(data) ?? "").startsWith("kustomize.toolkit.fluxcd.io/")
  );
}

/** Reads `a.b.c` from nested mappings (and lists, by index), or undefined. */
export function getPath(data: unknown, ...keys: string[]): unknown {
  let current = data;
  for (const key of keys) {
    if (Array.isArray(current) && /^\d+$/.test(key))
      current = current[Number(key)];
    else if (isPlainObject(current)) current = current[key];
    else return undefined;
  }
  return current;
}
