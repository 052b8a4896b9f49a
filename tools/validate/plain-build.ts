import type { FindingSink } from "./findings.js";
import {
  findKustomizationFile,
  isDirectory,
  isKustomizationFile,
  joinRelative,
  kustomizationFilesIn,
  readKustomization,
} from "./kustomize-files.js";
import {
  describeObject,
  getPath,
  kindOf,
  looksLikeKubernetesObject,
  nameOf,
  namespaceOf,
  type Build,
  type Origin,
} from "./objects.js";
import type { SourceTree } from "./repository.js";

/** A document of a build, with the text substitution would read. */
export interface BuiltDocument {
  text: string;
  data: unknown;
  origin: Origin;
}

/** Keys a kustomization may have and still be a plain list of files. */
const PLAIN_KEYS = new Set(["apiVersion", "kind", "resources"]);

/**
 * Lists the files a kustomization pulls in when it only lists resources:
 * no patches, generators, namespaces or labels anywhere in its tree. Such a
 * build outputs those files' objects unchanged, so kustomize need not run.
 * Returns undefined when anything else is present.
 */
export function plainFiles(
  tree: SourceTree,
  directory: string,
  seen = new Set<string>(),
): string[] | undefined {
  const file = findKustomizationFile(tree, directory);
  if (!file || seen.has(file) || !tree.files.has(file)) return undefined;
  // kustomize fails on a folder with two kustomization files; let it report that.
  if (kustomizationFilesIn(tree, directory).length > 1) return undefined;
  seen.add(file);
  const data = readKustomization(tree, file);
  if (!data || Object.keys(data).some((key) => !PLAIN_KEYS.has(key)))
    return undefined;
  // A Component, or a misspelt kind or apiVersion, is kustomize's to judge.
  if (data.kind !== undefined && data.kind !== "Kustomization")
    return undefined;
  if (
    data.apiVersion !== undefined &&
    data.apiVersion !== "kustomize.config.k8s.io/v1beta1"
  )
    return undefined;
  const resources = data.resources ?? [];
  if (!Array.isArray(resources)) return undefined;
  const files: string[] = [];
  for (const resource of resources) {
    if (typeof resource !== "string" || resource.includes("://"))
      return undefined;
    const target = joinRelative(directory, resource);
    if (isDirectory(tree, target)) {
      const nested = plainFiles(tree, target, seen);
      if (!nested) return undefined;
      files.push(...nested);
    } else if (tree.files.has(target) && !isKustomizationFile(target)) {
      const source = tree.files.get(target)!;
      if (source.problems.length > 0 || source.empty) return undefined;
      // kustomize rejects an object without a name; let it report that.
      if (
        source.documents.some(
          (document) => typeof nameOf(document.data) !== "string",
        )
      )
        return undefined;
      // kustomize expands a List into its items; this reader does not.
      if (source.documents.some((document) => kindOf(document.data) === "List"))
        return undefined;
      files.push(target);
    } else {
      // Missing or not YAML: let kustomize produce its own error.
      return undefined;
    }
  }
  return files;
}

/**
 * Reads the objects of a plain build, reporting what kustomize would reject:
 * a document that is not a Kubernetes object, and two objects with one id.
 * Returns undefined after reporting, as a failed build applies nothing.
 */
export function readPlainBuild(
  tree: SourceTree,
  build: Build,
  files: string[],
  sink: FindingSink,
): BuiltDocument[] | undefined {
  const documents: BuiltDocument[] = [];
  const ids = new Map<string, Origin>();
  let failed = false;
  for (const file of files) {
    for (const document of tree.files.get(file)?.documents ?? []) {
      const origin = { file, line: document.line };
      if (!looksLikeKubernetesObject(document.data)) {
        failed = true;
        sink.add({
          rule: "kustomize-build",
          severity: "error",
          file,
          line: document.line,
          column: 1,
          resource: `build of ${build.path}`,
          message: `not a Kubernetes object (no apiVersion and kind); kustomize fails the build of ${build.path} with "missing Resource metadata"`,
          fix: "remove the document or the file from the kustomization's resources",
        });
        continue;
      }
      const id = resourceId(document.data);
      const first = ids.get(id);
      if (first) {
        failed = true;
        sink.add({
          rule: "kustomize-build",
          severity: "error",
          file,
          line: document.line,
          column: 1,
          resource: describeObject(document.data),
          message: `${describeObject(document.data)} is declared twice in the build of ${build.path} (first at ${first.file}:${first.line}); kustomize fails with "may not add resource with an already registered id"`,
          fix: "keep one declaration, or give the objects different names",
        });
        continue;
      }
      ids.set(id, origin);
      documents.push({ text: document.text, data: document.data, origin });
    }
  }
  return failed ? undefined : documents;
}

/**
 * The id kustomize keys resources by: API group and version, kind,
 * namespace and name, where no namespace means `default`.
 */
function resourceId(data: unknown): string {
  const apiVersion = String(getPath(data, "apiVersion") ?? "");
  const namespace = namespaceOf(data) || "default";
  return `${apiVersion}/${kindOf(data)}/${namespace}/${nameOf(data)}`;
}
