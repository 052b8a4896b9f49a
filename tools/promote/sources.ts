import path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import type { Environment } from "../lib/environment.js";
import type { CommitTree } from "./tree.js";

const KUSTOMIZATION_FILES = [
  "kustomization.yaml",
  "kustomization.yml",
  "Kustomization",
];

/**
 * Lists the folders and files that an environment's clusters build from:
 * each `clusters/<cluster>/` folder, the path of every Flux Kustomization
 * found there, and everything those kustomizations reference, followed
 * recursively. A folder stands for all of its files, which can only add
 * paths, so the gate may ask for a newer smoke test than strictly needed
 * but never for an older one.
 */
export async function listBuildPaths(
  tree: CommitTree,
  environment: Environment,
): Promise<string[]> {
  const paths = new Set<string>();
  const visited = new Set<string>();
  const clusters = [environment.clusters.ory, environment.clusters.crdb];
  for (const cluster of clusters) {
    if (cluster === null) continue;
    const folder = `clusters/${cluster}`;
    if (!tree.isDirectory(folder)) continue;
    paths.add(folder);
    for (const fluxPath of await fluxKustomizationPaths(tree, folder)) {
      await visit(tree, fluxPath, paths, visited);
    }
  }
  // A folder already stands for the files and folders under it.
  const sorted = [...paths].sort();
  return sorted.filter(
    (entry) => !sorted.some((other) => entry.startsWith(`${other}/`)),
  );
}

async function fluxKustomizationPaths(
  tree: CommitTree,
  folder: string,
): Promise<string[]> {
  const found: string[] = [];
  for (const file of tree.filesUnder(folder)) {
    if (!/\.ya?ml$/.test(file)) continue;
    const documents = parseAllDocuments(await tree.read(file));
    if (!Array.isArray(documents)) continue;
    for (const document of documents) {
      if (document.errors.length > 0) continue;
      const object = document.toJS() as {
        apiVersion?: string;
        kind?: string;
        spec?: { path?: string };
      } | null;
      const isFlux = object?.apiVersion?.startsWith(
        "kustomize.toolkit.fluxcd.io/",
      );
      if (isFlux && object?.kind === "Kustomization") {
        found.push(normalise(object.spec?.path ?? "."));
      }
    }
  }
  return found;
}

async function visit(
  tree: CommitTree,
  target: string,
  paths: Set<string>,
  visited: Set<string>,
): Promise<void> {
  if (visited.has(target)) return;
  visited.add(target);
  if (tree.has(target)) {
    paths.add(target);
    return;
  }
  if (!tree.isDirectory(target)) return;
  paths.add(target);

  const file = KUSTOMIZATION_FILES.map((name) => `${target}/${name}`).find(
    (candidate) => tree.has(candidate),
  );
  if (!file) return;
  let kustomization: unknown;
  try {
    kustomization = parse(await tree.read(file));
  } catch {
    // An invalid kustomization is the validator's finding; its folder is
    // already listed whole.
    return;
  }
  for (const reference of kustomizeReferences(kustomization)) {
    await visit(
      tree,
      normalise(path.posix.join(target, reference)),
      paths,
      visited,
    );
  }
}

/** Local paths a kustomization.yaml refers to, as written in it. */
export function kustomizeReferences(kustomization: unknown): string[] {
  const data = (kustomization ?? {}) as Record<string, unknown>;
  const references: string[] = [];
  const add = (value: unknown) => {
    if (typeof value !== "string" || value.includes("\n")) return;
    const file = value.includes("=")
      ? value.slice(value.indexOf("=") + 1)
      : value;
    if (/^[a-z][a-z0-9+.-]*:\/\/|^git@|^github\.com\//i.test(file)) return;
    references.push(file);
  };
  const list = (value: unknown) => (Array.isArray(value) ? value : []);

  for (const key of [
    "resources",
    "bases",
    "components",
    "crds",
    "generators",
    "transformers",
    "validators",
    "patchesStrategicMerge",
  ]) {
    for (const entry of list(data[key])) add(entry);
  }
  for (const key of ["patches", "patchesJson6902", "replacements"]) {
    for (const entry of list(data[key])) {
      add((entry as { path?: unknown } | null)?.path);
    }
  }
  for (const key of ["configMapGenerator", "secretGenerator"]) {
    for (const entry of list(data[key])) {
      const generator = (entry ?? {}) as {
        files?: unknown;
        envs?: unknown;
        env?: unknown;
      };
      for (const file of list(generator.files)) add(file);
      for (const file of list(generator.envs)) add(file);
      add(generator.env);
    }
  }
  add((data.openapi as { path?: unknown } | undefined)?.path);
  return references;
}

function normalise(file: string): string {
  const normalised = path.posix.normalize(file).replace(/^\.\/|\/$/g, "");
  return normalised === "." ? "" : normalised;
}
