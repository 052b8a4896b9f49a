import type { FindingSink } from "../findings.js";
import {
  findKustomizationFile,
  excludedFromSource,
  isDirectory,
  isUnderLink,
  isKustomizationFile,
  joinRelative,
  listedEntries,
  pathExists,
  readKustomization,
} from "../kustomize-files.js";
import type { Locator } from "../locate.js";
import {
  apiVersionOf,
  describeObject,
  getPath,
  kindOf,
  nameOf,
  namespaceOf,
  type RenderedObject,
} from "../objects.js";
import type { SourceTree } from "../repository.js";
import { isPlainObject, type FieldPath } from "../structural-schema.js";
import path from "node:path";
import { buildsFromThisTree } from "../render.js";

/** Secrets that exist in a cluster without being in git, as `namespace/name`. */
export type DeclaredSecrets = Map<string, Set<string>>;

interface Reference {
  field: FieldPath;
  kind: string;
  name: string;
  namespace: string;
  optional: boolean;
}

/**
 * Checks that every object a Flux object points at exists in the same
 * cluster: sources, charts, dependencies, values and substitution sources,
 * alert providers; and that each Flux Kustomization's path is a folder of the
 * tree.
 */
export function checkObjectReferences(
  objects: RenderedObject[],
  tree: SourceTree,
  declared: DeclaredSecrets,
  sink: FindingSink,
  locator: Locator,
): void {
  const index = new Map<string, Set<string>>();
  for (const object of objects) {
    const key = `${kindOf(object.data)}/${namespaceOf(object.data) ?? "default"}/${nameOf(object.data)}`;
    let keys = index.get(object.build.cluster);
    if (!keys) index.set(object.build.cluster, (keys = new Set()));
    keys.add(key);
  }

  for (const object of objects) {
    const kind = kindOf(object.data);
    const group = (apiVersionOf(object.data) ?? "").split("/")[0] ?? "";
    if (!group.endsWith(".toolkit.fluxcd.io")) continue;
    if (kind === "Kustomization") {
      checkKustomizationPath(object, tree, sink, locator);
      checkKustomizationComponents(object, tree, sink, locator);
    }
    const cluster = object.build.cluster;
    const known = index.get(cluster) ?? new Set<string>();
    const secrets = declared.get(cluster) ?? new Set<string>();
    for (const reference of referencesOf(object)) {
      const key = `${reference.kind}/${reference.namespace}/${reference.name}`;
      if (known.has(key)) continue;
      if (
        reference.kind === "Secret" &&
        secrets.has(`${reference.namespace}/${reference.name}`)
      )
        continue;
      if (reference.optional) continue;
      const at = locator.locate(object, reference.field);
      const where = cluster ? ` in cluster ${cluster}` : "";
      sink.add({
        rule: "reference-missing",
        severity: "error",
        ...at,
        resource: describeObject(object.data),
        message: `${reference.field.join(".")} points at ${reference.kind} ${reference.namespace}/${reference.name}, which no Flux Kustomization applies${where}`,
        fix:
          reference.kind === "Secret"
            ? `add it to the manifests (SOPS-encrypted), declare it under secrets in the environment model, or fix the name`
            : `add the ${reference.kind} to the manifests this cluster applies, or fix the name and namespace`,
      });
    }
  }
}

function referencesOf(object: RenderedObject): Reference[] {
  const data = object.data;
  const kind = kindOf(data);
  const namespace = namespaceOf(data) ?? "default";
  const references: Reference[] = [];
  const add = (
    field: FieldPath,
    refKind: unknown,
    value: unknown,
    optional = false,
  ) => {
    if (
      !isPlainObject(value) ||
      typeof value.name !== "string" ||
      typeof refKind !== "string"
    )
      return;
    const refNamespace =
      typeof value.namespace === "string" ? value.namespace : namespace;
    references.push({
      field,
      kind: refKind,
      name: value.name,
      namespace: refNamespace,
      optional,
    });
  };

  if (kind === "Kustomization") {
    const sourceRef = getPath(data, "spec", "sourceRef");
    add(["spec", "sourceRef"], getPath(sourceRef, "kind"), sourceRef);
    listOf(getPath(data, "spec", "dependsOn")).forEach((dependency, index) =>
      add(["spec", "dependsOn", index], "Kustomization", dependency),
    );
    listOf(getPath(data, "spec", "postBuild", "substituteFrom")).forEach(
      (source, index) =>
        add(
          ["spec", "postBuild", "substituteFrom", index],
          getPath(source, "kind"),
          source,
          getPath(source, "optional") === true,
        ),
    );
  }
  if (kind === "HelmRelease") {
    const sourceRef = getPath(data, "spec", "chart", "spec", "sourceRef");
    add(
      ["spec", "chart", "spec", "sourceRef"],
      getPath(sourceRef, "kind"),
      sourceRef,
    );
    const chartRef = getPath(data, "spec", "chartRef");
    add(["spec", "chartRef"], getPath(chartRef, "kind"), chartRef);
    listOf(getPath(data, "spec", "dependsOn")).forEach((dependency, index) =>
      add(["spec", "dependsOn", index], "HelmRelease", dependency),
    );
    listOf(getPath(data, "spec", "valuesFrom")).forEach((source, index) =>
      add(
        ["spec", "valuesFrom", index],
        getPath(source, "kind"),
        source,
        getPath(source, "optional") === true,
      ),
    );
  }
  if (kind === "Alert") {
    add(
      ["spec", "providerRef"],
      "Provider",
      getPath(data, "spec", "providerRef"),
    );
    listOf(getPath(data, "spec", "eventSources")).forEach((source, index) => {
      if (getPath(source, "name") !== "*")
        add(["spec", "eventSources", index], getPath(source, "kind"), source);
    });
  }
  return references;
}

/** Checks that each of `spec.components` is a folder of the repository. */
function checkKustomizationComponents(
  object: RenderedObject,
  tree: SourceTree,
  sink: FindingSink,
  locator: Locator,
): void {
  if (!buildsFromThisTree(tree, object.data)) return;
  const components = getPath(object.data, "spec", "components");
  if (!Array.isArray(components)) return;
  const raw = getPath(object.data, "spec", "path");
  const base = joinRelative(
    ".",
    (typeof raw === "string" && raw !== "" ? raw : "./").replace(/^\/+/, ""),
  );
  components.forEach((component, index) => {
    if (typeof component !== "string") return;
    const target = joinRelative(base, component);
    const problem = component.startsWith("/")
      ? "is an absolute path, and Flux reads only paths inside the repository"
      : target === ".." || target.startsWith("../")
        ? "leaves the repository, and Flux reads only paths inside it"
        : !isDirectory(tree, target)
          ? "is not a folder of the repository"
          : undefined;
    if (!problem) return;
    sink.add({
      rule: "flux-path-missing",
      severity: "error",
      ...locator.locate(object, ["spec", "components", index]),
      resource: describeObject(object.data),
      message: `spec.components[${index}] "${component}" ${problem}`,
      fix: "give the component's folder relative to spec.path, inside the repository",
    });
  });
}

function checkKustomizationPath(
  object: RenderedObject,
  tree: SourceTree,
  sink: FindingSink,
  locator: Locator,
): void {
  if (!buildsFromThisTree(tree, object.data)) return;
  const raw = getPath(object.data, "spec", "path");
  const declared = typeof raw === "string" && raw !== "" ? raw : "./";
  const relative = joinRelative(".", declared.replace(/^\/+/, ""));
  const problem = relative.startsWith("..")
    ? "leaves the repository"
    : !pathExists(tree, relative)
      ? "does not exist in the repository"
      : !isDirectory(tree, relative)
        ? "is a file, not a folder"
        : undefined;
  if (!problem) return;
  const at = locator.locate(object, ["spec", "path"]);
  sink.add({
    rule: "flux-path-missing",
    severity: "error",
    ...at,
    resource: describeObject(object.data),
    message: `spec.path "${declared}" ${problem}; Flux fails this Kustomization with "kustomization path not found"`,
    fix: "set spec.path to a folder relative to the repository root, such as ./apps/production",
  });
}

/**
 * Checks that every local file and folder each kustomization.yaml of the
 * tree lists exists, and that folders listed as resources hold a
 * kustomization.
 */
export function checkKustomizationFiles(
  tree: SourceTree,
  sink: FindingSink,
  locator: Locator,
): void {
  for (const file of tree.files.keys()) {
    if (!isKustomizationFile(file)) continue;
    const data = readKustomization(tree, file);
    if (!data) continue;
    const directory = path.posix.dirname(file);
    for (const entry of listedEntries(data)) {
      const target = joinRelative(directory, entry.value);
      let problem: string | undefined;
      if (entry.value.startsWith("/"))
        problem =
          "is an absolute path, and Flux reads only files inside the repository";
      else if (target === ".." || target.startsWith("../"))
        problem =
          "is outside the repository, and Flux reads only files inside it";
      else if (isUnderLink(tree, target))
        problem =
          "is a symbolic link or lies under one, and Flux leaves links out of its artifact";
      else if (excludedFromSource(tree, target))
        problem =
          "is left out of Flux's artifact by a .sourceignore file, spec.ignore or Flux's default exclusions";
      else if (!pathExists(tree, target)) problem = "does not exist";
      else if (entry.expect === "file" && isDirectory(tree, target))
        problem = "is a folder, but a file is expected here";
      else if (entry.expect === "directory" && !isDirectory(tree, target))
        problem = "is a file, but a folder is expected here";
      else if (
        entry.expect === "resource" &&
        isDirectory(tree, target) &&
        !findKustomizationFile(tree, target)
      ) {
        problem =
          "is a folder without a kustomization.yaml, which kustomize cannot build";
      }
      if (!problem) continue;
      const at = locator.locateInFile(file, entry.field);
      sink.add({
        rule: "kustomization-entry-missing",
        severity: "error",
        ...at,
        message: `${entry.field.join(".")} lists "${entry.value}", which ${problem} (resolved to ${target})`,
        fix: "fix the path relative to this kustomization.yaml, or remove the entry",
      });
    }
  }
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
