import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import yaml from "js-yaml";
import { planLayout } from "./layout.js";
import {
  lineOfMarker,
  MISTAKE_KINDS,
  seedMistakes,
  type SeededMistake,
} from "./mistakes.js";
import { Random } from "./random.js";

export interface GenerateOptions {
  /** Objects the validator must render from the repository. */
  objects: number;
  seed?: number;
}

/** A synthetic Flux repository written to a temporary folder. */
export interface GeneratedRepository {
  root: string;
  objects: number;
  clusters: number;
  overlays: number;
  files: number;
  /** YAML documents over all files, including kustomize configs and patches. */
  documents: number;
  bytes: number;
  /** Builds that run `kubectl kustomize`: one per cluster and per overlay. */
  kustomizeBuilds: number;
  mistakes: SeededMistake[];
}

export const DEFAULT_SEED = 1;
/** Below this, some overlay may lack an object of a kind a mistake needs. */
export const MIN_OBJECTS = 100;
/** One mistake of each kind per this many objects, and at least one. */
const OBJECTS_PER_MISTAKE_OF_A_KIND = 3000;

/**
 * Writes a deterministic synthetic Flux repository with `objects` rendered
 * objects and seeded mistakes into a new folder under the system's
 * temporary directory. The same options always produce the same files.
 */
export async function generateRepository(
  options: GenerateOptions,
): Promise<GeneratedRepository> {
  if (!Number.isInteger(options.objects) || options.objects < MIN_OBJECTS) {
    throw new RangeError(
      `objects must be an integer of at least ${MIN_OBJECTS}, got ${options.objects}`,
    );
  }
  const random = new Random(options.seed ?? DEFAULT_SEED);
  const layout = planLayout(options.objects, random);
  const pending = seedMistakes(
    layout.candidates,
    mistakesPerKind(options.objects),
    random,
  );

  const texts = new Map<string, string>();
  let documents = 0;
  let bytes = 0;
  for (const file of layout.files) {
    const text = file.documents
      .map((document) =>
        yaml.dump(document, { lineWidth: -1, noRefs: true, quotingType: '"' }),
      )
      .join("---\n");
    texts.set(file.path, text);
    documents += file.documents.length;
    bytes += Buffer.byteLength(text);
  }
  const mistakes: SeededMistake[] = pending.map((mistake) => ({
    kind: mistake.kind,
    rule: mistake.rule,
    file: mistake.file,
    line: lineOfMarker(texts.get(mistake.file) ?? "", mistake),
    description: mistake.description,
  }));

  const root = await mkdtemp(path.join(os.tmpdir(), "flux-bench-"));
  try {
    writeTexts(root, texts);
  } catch (error) {
    await removeRepository(root);
    throw error;
  }
  return {
    root,
    objects: layout.objects,
    clusters: layout.clusters,
    overlays: layout.overlays,
    files: layout.files.length,
    documents,
    bytes,
    kustomizeBuilds: layout.clusters + layout.overlays,
    mistakes: sortMistakes(mistakes),
  };
}

export async function removeRepository(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}

/** Returns how many mistakes of all kinds a repository of `objects` objects gets. */
export function mistakeCount(objects: number): number {
  return mistakesPerKind(objects) * MISTAKE_KINDS.length;
}

function mistakesPerKind(objects: number): number {
  return Math.max(1, Math.round(objects / OBJECTS_PER_MISTAKE_OF_A_KIND));
}

/**
 * Writes the files synchronously: for thousands of small files this takes a
 * fraction of the time of awaiting one asynchronous write after another.
 */
function writeTexts(root: string, texts: Map<string, string>): void {
  const folders = new Set(
    [...texts.keys()].map((file) => path.dirname(path.join(root, file))),
  );
  for (const folder of folders) mkdirSync(folder, { recursive: true });
  for (const [file, text] of texts) writeFileSync(path.join(root, file), text);
}

function sortMistakes(mistakes: SeededMistake[]): SeededMistake[] {
  return [...mistakes].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      a.rule.localeCompare(b.rule),
  );
}
