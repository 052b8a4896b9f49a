import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { filesUnder, type SourceTree } from "./repository.js";
import { isPlainObject } from "./structural-schema.js";

export const KUSTOMIZATION_FILE_NAMES = [
  "kustomization.yaml",
  "kustomization.yml",
  "Kustomization",
];

/** One path a kustomization.yaml lists, with what kustomize expects there. */
export interface ListedEntry {
  /** Field path in the kustomization, e.g. ["patches", 0, "path"]. */
  field: (string | number)[];
  value: string;
  /** A resource may be a file or a directory holding a kustomization. */
  expect: "resource" | "file" | "directory";
  /**
   * Whether kustomize parses the file as YAML. Generator sources are read as
   * opaque data, so YAML errors in them do not stop a build.
   */
  yaml: boolean;
}

/** A patch a kustomization applies, for mapping values back to it. */
export interface PatchEntry {
  /** File the patch is in (the kustomization itself for inline patches). */
  file: string;
  inline: boolean;
  target?: Record<string, unknown>;
}

const kustomizationFileCache = new WeakMap<
  SourceTree,
  Map<string, string | undefined>
>();

/** True for a file kustomize reads as a folder's kustomization. */
export function isKustomizationFile(file: string): boolean {
  return KUSTOMIZATION_FILE_NAMES.includes(path.posix.basename(file));
}

/**
 * Lists every kustomization file in `directory`. kustomize fails on a
 * folder with more than one, so a build of such a folder must run kustomize.
 */
export function kustomizationFilesIn(
  tree: SourceTree,
  directory: string,
): string[] {
  return KUSTOMIZATION_FILE_NAMES.map((name) =>
    joinRelative(directory, name),
  ).filter(
    (candidate) =>
      tree.files.has(candidate) || existsSync(path.join(tree.root, candidate)),
  );
}

/** Relative path of the kustomization file in `directory`, if any. */
export function findKustomizationFile(
  tree: SourceTree,
  directory: string,
): string | undefined {
  let cache = kustomizationFileCache.get(tree);
  if (!cache) kustomizationFileCache.set(tree, (cache = new Map()));
  if (cache.has(directory)) return cache.get(directory);
  let found: string | undefined;
  for (const name of KUSTOMIZATION_FILE_NAMES) {
    const candidate = joinRelative(directory, name);
    if (
      tree.files.has(candidate) ||
      existsSync(path.join(tree.root, candidate))
    ) {
      found = candidate;
      break;
    }
  }
  cache.set(directory, found);
  return found;
}

/** Returns the parsed content of a kustomization file, or undefined if unreadable. */
export function readKustomization(
  tree: SourceTree,
  file: string,
): Record<string, unknown> | undefined {
  const data = tree.files.get(file)?.documents[0]?.data;
  return isPlainObject(data) ? data : undefined;
}

const FILE_LIST_FIELDS = [
  "patchesStrategicMerge",
  "crds",
  "transformers",
  "generators",
  "validators",
  "configurations",
];

/** Lists every local path a kustomization names (remote URLs are left out). */
export function listedEntries(data: Record<string, unknown>): ListedEntry[] {
  const entries: ListedEntry[] = [];
  const addList = (field: string, expect: ListedEntry["expect"]) => {
    const list = data[field];
    if (!Array.isArray(list)) return;
    list.forEach((value, index) => {
      if (typeof value === "string" && isLocal(value)) {
        entries.push({ field: [field, index], value, expect, yaml: true });
      }
    });
  };
  addList("resources", "resource");
  addList("bases", "resource");
  addList("components", "directory");
  for (const field of FILE_LIST_FIELDS) {
    const list = data[field];
    if (!Array.isArray(list)) continue;
    list.forEach((value, index) => {
      if (
        typeof value === "string" &&
        !isInlinePatch(value) &&
        isLocal(value)
      ) {
        entries.push({
          field: [field, index],
          value,
          expect: "file",
          yaml: true,
        });
      }
    });
  }
  for (const field of ["patches", "patchesJson6902", "replacements"]) {
    const list = data[field];
    if (!Array.isArray(list)) continue;
    list.forEach((item, index) => {
      if (isPlainObject(item) && typeof item.path === "string") {
        entries.push({
          field: [field, index, "path"],
          value: item.path,
          expect: "file",
          yaml: true,
        });
      }
    });
  }
  for (const field of ["configMapGenerator", "secretGenerator"]) {
    const list = data[field];
    if (!Array.isArray(list)) continue;
    list.forEach((generator, index) => {
      if (!isPlainObject(generator)) return;
      for (const key of ["files", "envs"]) {
        const files = generator[key];
        if (!Array.isArray(files)) continue;
        files.forEach((value, fileIndex) => {
          if (typeof value !== "string") return;
          // `key=path` names the data key apart from the file.
          const file = value.includes("=")
            ? value.slice(value.indexOf("=") + 1)
            : value;
          entries.push({
            field: [field, index, key, fileIndex],
            value: file,
            expect: "file",
            yaml: false,
          });
        });
      }
      if (typeof generator.env === "string") {
        entries.push({
          field: [field, index, "env"],
          value: generator.env,
          expect: "file",
          yaml: false,
        });
      }
    });
  }
  return entries;
}

/**
 * True for a patchesStrategicMerge entry that is the patch itself rather
 * than a path: YAML over several lines, or a one-line JSON object.
 */
function isInlinePatch(value: string): boolean {
  return value.includes("\n") || value.trimStart().startsWith("{");
}

/** Patches a kustomization declares, with the file each lives in. */
export function patchEntries(
  file: string,
  data: Record<string, unknown>,
): PatchEntry[] {
  const directory = path.posix.dirname(file);
  const entries: PatchEntry[] = [];
  for (const field of ["patches", "patchesJson6902"]) {
    const list = data[field];
    if (!Array.isArray(list)) continue;
    for (const item of list) {
      if (!isPlainObject(item)) continue;
      const target = isPlainObject(item.target) ? item.target : undefined;
      if (typeof item.path === "string") {
        entries.push({
          file: joinRelative(directory, item.path),
          inline: false,
          ...(target ? { target } : {}),
        });
      } else if (typeof item.patch === "string") {
        entries.push({ file, inline: true, ...(target ? { target } : {}) });
      }
    }
  }
  const strategic = data.patchesStrategicMerge;
  if (Array.isArray(strategic)) {
    for (const item of strategic) {
      if (typeof item !== "string") continue;
      entries.push(
        isInlinePatch(item)
          ? { file, inline: true }
          : { file: joinRelative(directory, item), inline: false },
      );
    }
  }
  return entries;
}

/** The paths named by a kustomization and the kustomizations it lists. */
export interface KustomizationChain {
  /** Every kustomization file read. */
  kustomizationFiles: string[];
  /** Every local file or directory listed. */
  listedPaths: string[];
  /** The listed files that kustomize parses as YAML. */
  yamlPaths: string[];
  /**
   * Listed paths that Flux cannot read: absolute, outside the repository,
   * or left out of its artifact. kustomize here would read them anyway.
   */
  unreadable: string[];
}

/**
 * Follows a kustomization and the local directories it lists, returning
 * every kustomization file read and every local file or directory listed.
 */
export function collectChain(
  tree: SourceTree,
  directory: string,
  seen = new Set<string>(),
): KustomizationChain {
  const chain: KustomizationChain = {
    kustomizationFiles: [],
    listedPaths: [],
    yamlPaths: [],
    unreadable: [],
  };
  const file = findKustomizationFile(tree, directory);
  if (!file || seen.has(file)) return chain;
  seen.add(file);
  chain.kustomizationFiles.push(file);
  const data = readKustomization(tree, file);
  if (!data) return chain;
  for (const entry of listedEntries(data)) {
    if (entry.value.startsWith("/")) {
      chain.unreadable.push(entry.value);
      continue;
    }
    const target = joinRelative(directory, entry.value);
    if (
      target === ".." ||
      target.startsWith("../") ||
      excludedFromSource(tree, target)
    ) {
      chain.unreadable.push(target);
      continue;
    }
    chain.listedPaths.push(target);
    if (entry.expect !== "file" && isDirectory(tree, target)) {
      appendChain(chain, collectChain(tree, target, seen));
    } else if (entry.yaml) {
      chain.yamlPaths.push(target);
    }
  }
  return chain;
}

export function appendChain(
  chain: KustomizationChain,
  more: KustomizationChain,
): void {
  chain.kustomizationFiles.push(...more.kustomizationFiles);
  chain.listedPaths.push(...more.listedPaths);
  chain.yamlPaths.push(...more.yamlPaths);
  chain.unreadable.push(...more.unreadable);
}

type PathKind = "file" | "directory" | "missing";

const pathKindCache = new WeakMap<SourceTree, Map<string, PathKind>>();

/**
 * Returns what `relative` is on disk. A YAML file or a folder holding one is known
 * from the loaded tree without a system call; kustomizations list thousands
 * of such paths. Anything else is looked up once per tree.
 */
function pathKind(tree: SourceTree, relative: string): PathKind {
  if (tree.files.has(relative)) return "file";
  if (filesUnder(tree, relative).length > 0) return "directory";
  let cache = pathKindCache.get(tree);
  if (!cache) pathKindCache.set(tree, (cache = new Map()));
  let kind = cache.get(relative);
  if (kind === undefined) {
    try {
      kind = statSync(path.join(tree.root, relative)).isDirectory()
        ? "directory"
        : "file";
    } catch {
      kind = "missing";
    }
    // Flux's artifact has no such path, whatever the work tree holds.
    if (kind !== "missing" && excludedFromSource(tree, relative))
      kind = "missing";
    cache.set(relative, kind);
  }
  return kind;
}

/** True when source-controller leaves the path out of the artifact. */
export function excludedFromSource(
  tree: SourceTree,
  relative: string,
): boolean {
  return (
    (tree.ignore?.ignores(relative) ?? false) || isUnderLink(tree, relative)
  );
}

/** True when `relative` is a symbolic link or lies under one. */
export function isUnderLink(tree: SourceTree, relative: string): boolean {
  if (!tree.links || tree.links.size === 0) return false;
  for (
    let at = relative;
    at !== "." && at !== "";
    at = path.posix.dirname(at)
  ) {
    if (tree.links.has(at)) return true;
  }
  return false;
}

export function isDirectory(tree: SourceTree, relative: string): boolean {
  return pathKind(tree, relative) === "directory";
}

export function pathExists(tree: SourceTree, relative: string): boolean {
  return pathKind(tree, relative) !== "missing";
}

/** Joins and normalises a relative path, with forward slashes. */
export function joinRelative(directory: string, relative: string): string {
  const joined = path.posix.normalize(path.posix.join(directory, relative));
  return joined.replace(/\/$/, "") || ".";
}

function isLocal(value: string): boolean {
  return (
    !/^[a-z][a-z0-9+.-]*:\/\//i.test(value) &&
    !/^(github\.com|gitlab\.com|bitbucket\.org)\//.test(value) &&
    !value.startsWith("git@")
  );
}
