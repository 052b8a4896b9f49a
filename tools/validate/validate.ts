import { availableParallelism } from "node:os";
import path from "node:path";
import "./catalogue.js";
import { UsageError } from "../lib/errors.js";
import { checkFluxRules } from "./checks/flux-rules.js";
import { checkDataSizes } from "./checks/sizes.js";
import { checkModels, declaredSecrets } from "./checks/models.js";
import {
  checkKustomizationFiles,
  checkObjectReferences,
} from "./checks/references.js";
import {
  checkObjectSchemas,
  crdSchemasByCluster,
  type CrdSchemas,
} from "./checks/schemas.js";
import { checkOry } from "./ory/check.js";
import {
  compareText,
  FindingSink,
  type Finding,
  type Skipped,
} from "./findings.js";
import {
  checkKubectl,
  DEFAULT_KUSTOMIZE_LIMITS,
  type KustomizeLimits,
} from "./kustomize.js";
import { Locator } from "./locate.js";
import {
  describeObject,
  looksLikeKubernetesObject,
  type RenderedObject,
} from "./objects.js";
import { kustomizeRunning, renderAll } from "./render.js";
import { loadTree, parseAhead, type SourceTree } from "./repository.js";
import { isKustomizationFile } from "./kustomize-files.js";
import { describeYamlProblem } from "./yaml-docs.js";

const NO_CRDS: CrdSchemas = new Map();
/** Maximum time, in milliseconds, spent parsing ahead between two builds. */
const PARSE_SLICE_MS = 10;

export interface ValidateOptions {
  root: string;
  /** Only the clusters of this environment, from its environment model. */
  environment?: string;
  limits?: KustomizeLimits;
  concurrency?: number;
}

export interface Summary {
  files: number;
  objects: number;
  validated: number;
  skipped: number;
  errors: number;
  warnings: number;
  notes: number;
  builds: number;
  /** Wall time of the whole run, and the part spent waiting for kustomize. */
  elapsedMs: number;
  kustomizeMs: number;
}

export interface ValidateResult {
  findings: Finding[];
  skipped: Skipped[];
  summary: Summary;
}

/**
 * Validates a Flux repository the way Flux would apply it: parse every YAML
 * file, build each Flux Kustomization's path, substitute variables, then
 * check schemas, Flux's server-side rules and references. Every finding is
 * collected; nothing stops at the first one.
 */
export async function validate(
  options: ValidateOptions,
): Promise<ValidateResult> {
  const started = performance.now();
  const root = path.resolve(options.root);
  const sink = new FindingSink();
  // Started now, it runs while the tree loads; the first build awaits it
  // and fails the run if kubectl cannot run kustomize.
  checkKubectl().catch(() => undefined);

  const tree = await loadTree(root);
  if (tree.files.size === 0) {
    throw new UsageError(
      `no YAML files found under ${root}; check the path, and that git does not ignore the manifests (git ls-files lists what is read)`,
    );
  }
  const locator = new Locator(tree);
  const models = checkModels(tree, sink, locator);
  const clusters = clustersOf(models.environments, options.environment);

  // Objects with a built-in or Flux schema are checked as each build ends,
  // while other builds are still running; custom resources wait for every
  // CRD to be known.
  const deferred: RenderedObject[] = [];
  let validated = 0;
  let filesChecked = false;
  const rendering = renderAll({
    tree,
    sink,
    limits: options.limits ?? DEFAULT_KUSTOMIZE_LIMITS,
    // kustomize runs are short and mostly process start-up, so two per
    // core keep both cores busy.
    concurrency: options.concurrency ?? Math.max(2, availableParallelism() * 2),
    ...(clusters ? { clusters } : {}),
    onObjects: (built) => {
      validated += checkObjectSchemas(built, NO_CRDS, sink, locator, deferred);
      // Work that needs only the tree is done while a kustomize child keeps
      // the other core busy, in slices, so the next builds start on time.
      if (!kustomizeRunning()) return;
      if (!filesChecked) {
        checkKustomizationFiles(tree, sink, locator);
        filesChecked = true;
      } else {
        parseAhead(tree, performance.now() + PARSE_SLICE_MS);
      }
    },
  });
  const rendered = await rendering;
  if (!filesChecked) checkKustomizationFiles(tree, sink, locator);
  reportFileProblems(tree, sink);
  const objects = rendered.objects;

  const crdsFor = crdSchemasByCluster(objects);
  for (const object of deferred) {
    validated += checkObjectSchemas(
      [object],
      crdsFor(object.build.cluster),
      sink,
      locator,
    );
  }
  checkFluxRules(objects, sink, locator);
  checkDataSizes(objects, sink, locator);
  checkObjectReferences(objects, tree, declaredSecrets(models), sink, locator);
  checkOry(
    objects,
    models.environments,
    sink,
    locator,
    tree,
    models.invalid.size > 0,
  );
  if (!clusters)
    listUnreachedObjects(tree, rendered.usedFiles, models.files, sink);

  const findings = sortFindings(sink.findings);
  return {
    findings,
    skipped: sortSkipped(sink.skipped),
    summary: {
      files: tree.files.size,
      objects: objects.length,
      validated,
      skipped: sink.skipped.length,
      errors: sink.count("error"),
      warnings: sink.count("warning"),
      notes: sink.count("note"),
      builds: rendered.builds.length,
      elapsedMs: performance.now() - started,
      kustomizeMs: rendered.kustomizeMs,
    },
  };
}

function clustersOf(
  environments: {
    name: string;
    clusters: { ory: string; crdb: string | null };
  }[],
  name: string | undefined,
): Set<string> | undefined {
  if (name === undefined) return undefined;
  const environment = environments.find((candidate) => candidate.name === name);
  if (!environment) {
    const known =
      environments.map((candidate) => candidate.name).join(", ") || "none";
    throw new UsageError(
      `--env ${name}: no valid environments/${name}/environment.yaml; known environments: ${known}`,
    );
  }
  const clusters = new Set([environment.clusters.ory]);
  if (environment.clusters.crdb) clusters.add(environment.clusters.crdb);
  return clusters;
}

function reportFileProblems(tree: SourceTree, sink: FindingSink): void {
  for (const file of tree.files.values()) {
    if (file.empty) {
      sink.skip({
        file: file.path,
        line: 1,
        resource: "(file)",
        reason: "empty file",
      });
      continue;
    }
    for (const problem of file.problems) {
      const { rule, fix } = describeYamlProblem(problem);
      sink.add({
        rule,
        severity: "error",
        file: file.path,
        line: problem.line,
        column: problem.column,
        message: problem.message,
        fix,
      });
    }
  }
}

/** Lists Kubernetes objects in files that no Flux Kustomization builds. */
function listUnreachedObjects(
  tree: SourceTree,
  usedFiles: Set<string>,
  modelFiles: Set<string>,
  sink: FindingSink,
): void {
  for (const file of tree.files.values()) {
    if (usedFiles.has(file.path) || modelFiles.has(file.path)) continue;
    if (isKustomizationFile(file.path)) continue;
    const reason = /\.ya?ml$/.test(file.path)
      ? "not under the path of any Flux Kustomization, so Flux never applies it"
      : "Flux applies only files ending in lower-case .yaml or .yml from a folder without kustomization.yaml; rename the file or list it in a kustomization.yaml";
    for (const document of file.documents) {
      if (!looksLikeKubernetesObject(document.data)) continue;
      sink.skip({
        file: file.path,
        line: document.line,
        resource: describeObject(document.data),
        reason,
      });
    }
  }
}

/**
 * Sorts by location, then by everything else, so concurrent builds that
 * end in a different order still give the same output.
 */
function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      compareText(a.file, b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      compareText(a.rule, b.rule) ||
      compareText(a.message, b.message) ||
      compareText(a.resource ?? "", b.resource ?? ""),
  );
}

function sortSkipped(skipped: Skipped[]): Skipped[] {
  return [...skipped].sort(
    (a, b) =>
      compareText(a.file, b.file) ||
      a.line - b.line ||
      compareText(a.resource, b.resource) ||
      compareText(a.reason, b.reason),
  );
}
