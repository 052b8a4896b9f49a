import { execFile } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { UsageError } from "../lib/errors.js";
import {
  MAX_FILE_BYTES,
  parseYaml,
  type YamlDocument,
  type YamlProblem,
} from "./yaml-docs.js";

const execFileAsync = promisify(execFile);

/** A YAML file of the validated tree, parsed. */
export interface SourceFile {
  /** Path relative to the root, with forward slashes. */
  path: string;
  documents: YamlDocument[];
  problems: YamlProblem[];
  empty: boolean;
}

/** Every YAML file of the tree, keyed by its relative path. */
export interface SourceTree {
  root: string;
  files: Map<string, SourceFile>;
}

const YAML_FILE = /\.ya?ml$/i;
const ALWAYS_SKIPPED = new Set([".git", "node_modules"]);

/**
 * Lists the YAML files git would track under `root`: tracked and untracked
 * files minus ignored ones. Outside a git work tree it walks the folder,
 * skipping .git and node_modules.
 */
export async function listYamlFiles(root: string): Promise<string[]> {
  const info = await stat(root).catch((error: unknown) => {
    throw new UsageError(
      `cannot read ${root}: it does not exist or is not readable`,
      {
        cause: error,
      },
    );
  });
  if (!info.isDirectory()) {
    throw new UsageError(
      `${root} is not a directory; pass the root of a Flux repository`,
    );
  }

  const fromGit = await listWithGit(root);
  const files = fromGit ?? (await walk(root));
  return files.filter((file) => YAML_FILE.test(file)).sort();
}

async function listWithGit(root: string): Promise<string[] | undefined> {
  try {
    const { stdout } = await execFileAsync(
      "git",
      [
        "-C",
        root,
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
      ],
      { maxBuffer: 256 * 1024 * 1024 },
    );
    const files = stdout.split("\0").filter((file) => file !== "");
    return files.filter(
      (file) => !file.split("/").some((part) => ALWAYS_SKIPPED.has(part)),
    );
  } catch {
    // Not a git work tree, or git is missing: fall back to walking.
    return undefined;
  }
}

async function walk(root: string, prefix = ""): Promise<string[]> {
  // Synchronous: one readdir per folder, with no promise per entry.
  const entries = readdirSync(path.join(root, prefix), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    if (ALWAYS_SKIPPED.has(entry.name)) continue;
    const relative = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) files.push(...(await walk(root, relative)));
    else if (entry.isFile()) files.push(relative);
  }
  return files;
}

/** Reads and parses every YAML file of the tree. */
export async function loadTree(root: string): Promise<SourceTree> {
  // listYamlFiles returns sorted paths, so the map keeps that order.
  const paths = await listYamlFiles(root);
  const files = new Map<string, SourceFile>();
  for (const relative of paths) {
    const file = loadFileSync(root, relative);
    if (file) files.set(relative, file);
  }
  return { root, files };
}

function loadFileSync(root: string, relative: string): SourceFile | undefined {
  const absolute = path.join(root, relative);
  let size: number;
  try {
    const info = statSync(absolute);
    if (!info.isFile()) return undefined;
    size = info.size;
  } catch {
    // Tracked by git but deleted in the work tree.
    return undefined;
  }
  if (size === 0)
    return { path: relative, documents: [], problems: [], empty: true };
  // An oversized file is rejected by its size alone, without reading it.
  const text = size <= MAX_FILE_BYTES ? readFileSync(absolute, "utf8") : "";
  const { documents, problems } = parseYaml(text, size);
  const empty = problems.length === 0 && documents.length === 0;
  return { path: relative, documents, problems, empty };
}

const folderIndex = new WeakMap<SourceTree, Map<string, string[]>>();

/**
 * Files of the tree under `directory` (recursively; "." for all), from an
 * index built once per tree, so a build does not scan every file.
 */
export function filesUnder(tree: SourceTree, directory: string): string[] {
  let index = folderIndex.get(tree);
  if (!index) {
    index = new Map();
    for (const file of tree.files.keys()) {
      let folder = file;
      do {
        folder = folder.includes("/")
          ? folder.slice(0, folder.lastIndexOf("/"))
          : ".";
        let list = index.get(folder);
        if (!list) index.set(folder, (list = []));
        list.push(file);
      } while (folder !== ".");
    }
    folderIndex.set(tree, index);
  }
  return index.get(directory) ?? [];
}
