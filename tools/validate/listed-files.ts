import { statSync } from "node:fs";
import path from "node:path";
import type { FindingSink } from "./findings.js";
import { readManifestFile, type SourceTree } from "./repository.js";
import {
  describeYamlProblem,
  parseYaml,
  unreadableProblem,
  type YamlProblem,
} from "./yaml-docs.js";

const checked = new WeakMap<SourceTree, Map<string, YamlProblem[]>>();

/**
 * Returns the problems of a file kustomize would parse, whether or not it
 * is one of the tree's YAML files. A kustomization may list a `.json` file,
 * a file git ignores, or a named pipe. Each must pass the same size and
 * alias checks before kustomize reads it, and a pipe would stall the build.
 * Problems of a file outside the tree are reported once, on that file.
 * A path that does not exist has none: the kustomization check reports it.
 */
export function problemsOfListedFile(
  tree: SourceTree,
  relative: string,
  sink: FindingSink,
): YamlProblem[] {
  const inTree = tree.files.get(relative);
  if (inTree) return inTree.problems;
  let cache = checked.get(tree);
  if (!cache) checked.set(tree, (cache = new Map()));
  const known = cache.get(relative);
  if (known) return known;
  const problems = inspect(path.join(tree.root, relative));
  cache.set(relative, problems);
  for (const problem of problems) {
    sink.add({
      ...describeYamlProblem(problem),
      severity: "error",
      file: relative,
      line: problem.line,
      column: problem.column,
      message: problem.message,
    });
  }
  return problems;
}

function inspect(absolute: string): YamlProblem[] {
  let regular: boolean;
  try {
    const info = statSync(absolute);
    if (info.isDirectory()) return [];
    regular = info.isFile();
  } catch {
    return [];
  }
  if (!regular) {
    return [
      {
        line: 1,
        column: 1,
        kind: "unreadable",
        message:
          "a kustomization lists this path, but it is a named pipe, socket or device, not a regular file; kustomize would wait on it",
      },
    ];
  }
  const file = readManifestFile(absolute);
  if (!file) return [];
  if (file.error) return [unreadableProblem(file.error)];
  return parseYaml(file.text, file.bytes).problems;
}

/**
 * Finds inline patches that are alias bombs: kustomize parses a patch
 * written in a kustomization (or in a Flux Kustomization's spec.patches)
 * like any file, and expands its aliases. Reports each at the file that
 * contains it and returns whether there was any.
 */
export function reportInlinePatchBombs(
  holders: { file: string; line: number; data: Record<string, unknown> }[],
  sink: FindingSink,
): boolean {
  let found = false;
  for (const { file, line, data } of holders) {
    for (const [field, text] of inlinePatches(data)) {
      const problems = parseYaml(text, Buffer.byteLength(text)).problems;
      const bomb = problems.find((problem) => problem.kind === "aliases");
      if (!bomb) continue;
      found = true;
      sink.add({
        ...describeYamlProblem(bomb),
        severity: "error",
        file,
        line,
        column: 1,
        message: `the inline patch at ${field} ${bomb.message.replace(/^document /, "")}`,
      });
    }
  }
  return found;
}

function inlinePatches(data: Record<string, unknown>): [string, string][] {
  const found: [string, string][] = [];
  for (const field of ["patches", "patchesJson6902"]) {
    const list = data[field];
    if (!Array.isArray(list)) continue;
    list.forEach((item, index) => {
      const patch = (item as { patch?: unknown } | null)?.patch;
      if (typeof patch === "string")
        found.push([`${field}[${index}].patch`, patch]);
    });
  }
  const strategic = data.patchesStrategicMerge;
  if (Array.isArray(strategic)) {
    strategic.forEach((item, index) => {
      if (typeof item === "string" && item.includes("\n"))
        found.push([`patchesStrategicMerge[${index}]`, item]);
    });
  }
  return found;
}
