import { writeFile } from "node:fs/promises";
import path from "node:path";
import yaml from "js-yaml";
import { compareText, type FindingSink } from "./findings.js";
import {
  appendChain,
  collectChain,
  findKustomizationFile,
  isDirectory,
  joinRelative,
  pathExists,
  readKustomization,
} from "./kustomize-files.js";
import {
  makeBuildFolder,
  removeBuildFolder,
  runKustomize,
  type KustomizeLimits,
} from "./kustomize.js";
import {
  plainFiles,
  readPlainBuild,
  type BuiltDocument,
} from "./plain-build.js";
import {
  describeObject,
  getPath,
  isFluxKustomization,
  kindOf,
  looksLikeKubernetesObject,
  metadataOf,
  nameOf,
  namespaceOf,
  type Build,
  type Origin,
  type RenderedObject,
} from "./objects.js";
import {
  problemsOfListedFile,
  reportInlinePatchBombs,
} from "./listed-files.js";
import { filesUnder, type SourceTree } from "./repository.js";
import { isPlainObject } from "./structural-schema.js";
import { hasExpression, substitute } from "./substitute.js";
import {
  splitDocuments,
  YAML_LOAD_OPTIONS,
  type YamlDocument,
} from "./yaml-docs.js";

export interface RenderOptions {
  tree: SourceTree;
  sink: FindingSink;
  limits: KustomizeLimits;
  /** Maximum number of builds running at once. */
  concurrency: number;
  /** When set, only Kustomizations applied to these clusters are built. */
  clusters?: Set<string>;
  /**
   * Called with each build's objects as soon as the build ends, so checks
   * run on one core while kustomize builds run on the other.
   */
  onObjects?: (objects: RenderedObject[]) => void;
}

export interface RenderResult {
  objects: RenderedObject[];
  builds: Build[];
  /** Wall-clock milliseconds during which at least one kustomize ran. */
  kustomizeMs: number;
  /** Files (relative) whose documents some build read as objects or patches. */
  usedFiles: Set<string>;
  /**
   * Objects of the batches of builds already finished. substituteFrom reads
   * only these, so the result never depends on which concurrent build ends
   * first.
   */
  settled: RenderedObject[];
}

interface PendingKustomization {
  data: Record<string, unknown>;
  origin: Origin;
  cluster: string;
}

const ORIGIN_ANNOTATION = "config.kubernetes.io/origin";
const SUBSTITUTE_SWITCH = "kustomize.toolkit.fluxcd.io/substitute";
const BUILD_TRANSFORM_FIELDS = [
  "patches",
  "images",
  "components",
  "namePrefix",
  "nameSuffix",
  "targetNamespace",
  "commonMetadata",
];

/**
 * Builds the path of every Flux Kustomization the tree declares, and of those
 * its builds produce, as kustomize-controller would. A tree without any Flux
 * Kustomization is read as one generated kustomization at its root.
 */
export async function renderAll(options: RenderOptions): Promise<RenderResult> {
  const { tree } = options;
  const result: RenderResult = {
    objects: [],
    builds: [],
    kustomizeMs: 0,
    usedFiles: new Set(),
    settled: [],
  };
  const allSeeds = findSeedKustomizations(tree);
  const seeds = options.clusters
    ? allSeeds.filter((seed) => options.clusters?.has(seed.cluster))
    : allSeeds;
  if (allSeeds.length === 0) {
    const build: Build = {
      id: "(root)",
      path: ".",
      cluster: "",
      kustomizationFiles: [],
      decryptsSops: true,
    };
    await renderBuild(options, build, undefined, result);
    return result;
  }

  const built = new Set<string>();
  const builtIdentities = new Set<string>();
  // Source locations of Kustomizations that some build applied. A seed
  // whose file is outside every cluster folder has no cluster of its own,
  // so its identity alone cannot tell that a build already reached it.
  const builtOrigins = new Set<string>();
  // Roots first: the other Kustomizations are built when a build applies
  // them, after the objects their substituteFrom reads exist. Those no
  // build reaches are built at the end, on their own.
  const isRoot = (seed: PendingKustomization) =>
    nameOf(seed.data) === "flux-system";
  let queue = seeds.filter(isRoot);
  const deferred = seeds.filter((seed) => !isRoot(seed));
  while (queue.length > 0 || deferred.length > 0) {
    if (queue.length === 0) {
      // Kustomizations that no build applied: build them on their own so
      // their objects are still checked.
      queue = deferred
        .splice(0)
        .filter(
          (seed) =>
            !builtIdentities.has(`${seed.cluster}\0${identity(seed.data)}`) &&
            !builtOrigins.has(`${seed.origin.file}:${seed.origin.line}`),
        );
      if (queue.length === 0) break;
    }
    const batch = queue.splice(0);
    const discovered: PendingKustomization[] = [];
    await runLimited(batch, options.concurrency, async (pending) => {
      const key = `${pending.cluster}\0${identity(pending.data)}\0${JSON.stringify(buildSpec(pending.data))}`;
      if (built.has(key)) return;
      built.add(key);
      builtIdentities.add(`${pending.cluster}\0${identity(pending.data)}`);
      builtOrigins.add(`${pending.origin.file}:${pending.origin.line}`);
      const build = describeBuild(tree, options.sink, pending);
      if (!build) return;
      // Builds run concurrently, so take this build's objects from its own
      // return value, never from the shared result list.
      const objects = await renderBuild(options, build, pending.data, result);
      for (const object of objects) {
        if (isFluxKustomization(object.data)) {
          discovered.push({
            data: object.data,
            origin: object.origin,
            cluster: build.cluster,
          });
        }
      }
    });
    queue.push(...discovered);
    result.settled = [...result.objects];
  }
  await renderEntryFiles(options, seeds, result);
  return result;
}

/**
 * Files declaring Flux Kustomizations that no build applies are entry
 * points: `flux bootstrap` or an operator applies them by hand, so their
 * objects are checked as they are written.
 */
async function renderEntryFiles(
  options: RenderOptions,
  seeds: PendingKustomization[],
  result: RenderResult,
): Promise<void> {
  const entryFiles = new Set(
    seeds
      .map((seed) => seed.origin.file)
      .filter((file) => !result.usedFiles.has(file)),
  );
  for (const file of [...entryFiles].sort()) {
    const source = options.tree.files.get(file);
    if (!source) continue;
    const build: Build = {
      id: `(entry ${file})`,
      path: path.posix.dirname(file),
      cluster: clusterOfFile(file),
      kustomizationFiles: [],
      decryptsSops: false,
    };
    result.usedFiles.add(file);
    const objects: RenderedObject[] = [];
    for (const document of source.documents) {
      if (!looksLikeKubernetesObject(document.data)) continue;
      const object = finishObject(
        {
          text: document.text,
          data: document.data,
          origin: { file, line: document.line },
        },
        build,
        undefined,
        options.tree,
        options.sink,
      );
      if (object) objects.push(object);
    }
    result.objects.push(...objects);
    options.onObjects?.(objects);
  }
}

function findSeedKustomizations(tree: SourceTree): PendingKustomization[] {
  const seeds: PendingKustomization[] = [];
  for (const file of tree.files.values()) {
    // Files that cannot hold one stay unparsed until a build reads them.
    if (!file.mayContain("Kustomization")) continue;
    for (const document of file.documents) {
      if (
        !isFluxKustomization(document.data) ||
        !isPlainObject(document.data)
      ) {
        continue;
      }
      seeds.push({
        data: document.data,
        origin: { file: file.path, line: document.line },
        cluster: "",
      });
    }
  }
  // A Kustomization named flux-system is a cluster's root: `flux bootstrap`
  // creates it pointing at that cluster's folder. Other seeds belong to the
  // root whose folder contains their file.
  const roots = seeds
    .filter((seed) => nameOf(seed.data) === "flux-system")
    .map((seed) => ({ seed, path: kustomizationPath(seed.data) }));
  for (const { seed, path: rootPath } of roots)
    seed.cluster = clusterName(rootPath);
  for (const seed of seeds) {
    if (seed.cluster !== "") continue;
    const owner = roots
      .filter(({ path: rootPath }) => isUnder(seed.origin.file, rootPath))
      .sort((a, b) => b.path.length - a.path.length)[0];
    seed.cluster = owner ? owner.seed.cluster : clusterOfFile(seed.origin.file);
  }
  return seeds;
}

/** Names a cluster after its root folder: `clusters/<name>` gives `<name>`. */
function clusterName(rootPath: string): string {
  if (rootPath.startsWith("clusters/"))
    return rootPath.slice("clusters/".length);
  return rootPath === "." ? "(root)" : rootPath;
}

function kustomizationPath(data: Record<string, unknown>): string {
  const raw = getPath(data, "spec", "path");
  const declared = typeof raw === "string" && raw !== "" ? raw : "./";
  return joinRelative(".", declared.replace(/^\/+/, ""));
}

/** `clusters/<name>/...` belongs to cluster `<name>`; other paths to none. */
export function clusterOfFile(file: string): string {
  const match = /^clusters\/([^/]+)\//.exec(file);
  return match?.[1] ?? "";
}

const selfSourcesCache = new WeakMap<SourceTree, Set<string> | null>();

/**
 * GitRepositories that are this repository: those named flux-system and
 * any with the same URL. Null when the tree has no flux-system
 * GitRepository, in which case every GitRepository is taken to be this one.
 */
function selfSources(tree: SourceTree): Set<string> | null {
  if (selfSourcesCache.has(tree)) return selfSourcesCache.get(tree) ?? null;
  const repositories: { id: string; name: string; url: unknown }[] = [];
  for (const file of tree.files.values()) {
    if (!file.mayContain("GitRepository")) continue;
    for (const document of file.documents) {
      if (kindOf(document.data) !== "GitRepository") continue;
      repositories.push({
        id: `${namespaceOf(document.data) ?? "default"}/${nameOf(document.data)}`,
        name: nameOf(document.data) ?? "",
        url: getPath(document.data, "spec", "url"),
      });
    }
  }
  const roots = repositories.filter(
    (repository) => repository.name === "flux-system",
  );
  let sources: Set<string> | null = null;
  if (roots.length > 0) {
    const urls = new Set(roots.map((root) => root.url));
    sources = new Set(
      repositories
        .filter(
          (repository) =>
            repository.name === "flux-system" || urls.has(repository.url),
        )
        .map((repository) => repository.id),
    );
  }
  selfSourcesCache.set(tree, sources);
  return sources;
}

/**
 * True when a Flux Kustomization's path is in this tree: its source is a
 * GitRepository that is this repository.
 */
export function buildsFromThisTree(
  tree: SourceTree,
  data: Record<string, unknown>,
): boolean {
  const sourceRef = getPath(data, "spec", "sourceRef");
  if (!isPlainObject(sourceRef) || sourceRef.kind !== "GitRepository") {
    return sourceRef === undefined;
  }
  const sources = selfSources(tree);
  if (sources === null) return true;
  const namespace =
    typeof sourceRef.namespace === "string"
      ? sourceRef.namespace
      : (namespaceOf(data) ?? "default");
  return sources.has(`${namespace}/${String(sourceRef.name)}`);
}

function identity(data: Record<string, unknown>): string {
  return `${namespaceOf(data) ?? ""}/${nameOf(data) ?? ""}/${String(getPath(data, "spec", "path") ?? "")}`;
}

function buildSpec(data: Record<string, unknown>): Record<string, unknown> {
  const spec = isPlainObject(data.spec) ? data.spec : {};
  const picked: Record<string, unknown> = {
    path: spec.path,
    postBuild: spec.postBuild,
  };
  for (const field of BUILD_TRANSFORM_FIELDS) picked[field] = spec[field];
  return picked;
}

function describeBuild(
  tree: SourceTree,
  sink: FindingSink,
  pending: PendingKustomization,
): Build | undefined {
  const spec = isPlainObject(pending.data.spec) ? pending.data.spec : {};
  const relative = kustomizationPath(pending.data);
  const id = `${namespaceOf(pending.data) ?? "default"}/${nameOf(pending.data) ?? "(no name)"}`;
  if (!buildsFromThisTree(tree, pending.data)) {
    const sourceRef = getPath(spec, "sourceRef");
    sink.skip({
      file: pending.origin.file,
      line: pending.origin.line,
      resource: `Kustomization/${id}`,
      reason: `not built: its source ${String(getPath(sourceRef, "kind"))}/${String(getPath(sourceRef, "name"))} is another repository or artifact, so spec.path is not in this tree`,
    });
    return undefined;
  }
  if (relative.startsWith("..")) return undefined;
  return {
    id,
    path: relative,
    cluster: pending.cluster,
    declaredAt: pending.origin,
    kustomizationFiles: [],
    decryptsSops: getPath(spec, "decryption", "provider") === "sops",
  };
}

async function renderBuild(
  options: RenderOptions,
  build: Build,
  kustomization: Record<string, unknown> | undefined,
  result: RenderResult,
): Promise<RenderedObject[]> {
  const { tree, sink } = options;
  if (!pathExists(tree, build.path) || !isDirectory(tree, build.path)) {
    // The references check reports the missing path at its declaration.
    return [];
  }
  result.builds.push(build);
  const spec =
    kustomization && isPlainObject(kustomization.spec)
      ? kustomization.spec
      : {};
  const ownFile = findKustomizationFile(tree, build.path);

  // kustomize-controller always runs kustomize, on a generated kustomization
  // when the folder has none; only a tree without any Flux object is read
  // file by file, as plain manifests.
  let documents: { text: string; data: unknown; origin: Origin }[];
  if (build.id === "(root)") {
    documents = readDirectly(tree, build, result);
  } else {
    if (ownFile === undefined && !checkGeneratedPath(tree, build, sink))
      return [];
    // A kustomization that only lists files renders them unchanged, so it
    // is read directly; kustomize's start-up would be most of the run's
    // time. Substitution reads kustomize's output format, so a build with
    // postBuild always runs kustomize.
    const plain =
      ownFile !== undefined &&
      spec.postBuild === undefined &&
      !BUILD_TRANSFORM_FIELDS.some((field) => spec[field] !== undefined)
        ? plainFiles(tree, build.path)
        : undefined;
    let rendered: BuiltDocument[] | undefined;
    if (plain) {
      build.kustomizationFiles = collectChain(
        tree,
        build.path,
      ).kustomizationFiles;
      for (const file of plain) result.usedFiles.add(file);
      for (const file of build.kustomizationFiles) result.usedFiles.add(file);
      rendered = readPlainBuild(tree, build, plain, sink);
    } else {
      rendered = await renderWithKustomize(
        options,
        build,
        spec,
        ownFile,
        result,
      );
    }
    if (!rendered) return [];
    documents = rendered;
  }

  const variables = resolveVariables(result.settled, build, spec);
  const objects: RenderedObject[] = [];
  for (const document of documents) {
    const object = finishObject(document, build, variables, tree, sink);
    if (object) objects.push(object);
  }
  result.objects.push(...objects);
  options.onObjects?.(objects);
  return objects;
}

/**
 * Flux lists every YAML file of a folder without kustomization.yaml in the
 * kustomization it generates, and the build fails on one that is not a
 * Kubernetes object. Reports each such file; returns false when any exists.
 */
function checkGeneratedPath(
  tree: SourceTree,
  build: Build,
  sink: FindingSink,
): boolean {
  let ok = true;
  for (const relative of generatedFiles(tree, build.path)) {
    const file = tree.files.get(relative)!;
    if (coveredByNestedKustomization(tree, file.path, build.path)) continue;
    for (const document of file.documents) {
      if (looksLikeKubernetesObject(document.data)) continue;
      ok = false;
      sink.add({
        rule: "flux-build",
        severity: "error",
        file: file.path,
        line: document.line,
        column: 1,
        message: `not a Kubernetes object (no apiVersion and kind), and Flux Kustomization ${build.id} applies every YAML file under ${build.path}; Flux fails this build with "missing Resource metadata"`,
        fix: "move the file out of the Kustomization's path, or add a kustomization.yaml there that lists only Kubernetes manifests",
      });
    }
  }
  return ok;
}

function coveredByNestedKustomization(
  tree: SourceTree,
  file: string,
  root: string,
): boolean {
  let folder = path.posix.dirname(file);
  while (folder !== root && folder !== "." && isUnder(folder, root)) {
    if (findKustomizationFile(tree, folder)) return true;
    folder = path.posix.dirname(folder);
  }
  return false;
}

/** Reads every Kubernetes object of a tree that has no Flux objects. */
function readDirectly(
  tree: SourceTree,
  build: Build,
  result: RenderResult,
): { text: string; data: unknown; origin: Origin }[] {
  const documents: { text: string; data: unknown; origin: Origin }[] = [];
  for (const relative of filesUnder(tree, build.path)) {
    const file = tree.files.get(relative)!;
    let used = false;
    for (const document of file.documents) {
      // Other YAML (CI workflows, tool settings) is not a manifest here.
      if (!looksLikeKubernetesObject(document.data)) continue;
      used = true;
      documents.push({
        text: document.text,
        data: document.data,
        origin: { file: file.path, line: document.line },
      });
    }
    if (used) result.usedFiles.add(file.path);
  }
  return documents;
}

async function renderWithKustomize(
  options: RenderOptions,
  build: Build,
  spec: Record<string, unknown>,
  ownFile: string | undefined,
  result: RenderResult,
): Promise<{ text: string; data: unknown; origin: Origin }[] | undefined> {
  const { tree, sink } = options;
  const chain = collectChain(tree, build.path);
  // Flux's generated kustomization lists files, and folders that hold a
  // kustomization of their own; kustomize reads what those list.
  const generated =
    ownFile === undefined ? generatedEntries(tree, build.path) : [];
  for (const entry of generated) {
    if (!tree.files.has(entry)) appendChain(chain, collectChain(tree, entry));
  }
  // Components named by the Flux Kustomization itself are read too.
  const components = Array.isArray(spec.components) ? spec.components : [];
  for (const component of components) {
    if (typeof component !== "string") continue;
    const folder = joinRelative(build.path, component);
    if (
      component.startsWith("/") ||
      folder === ".." ||
      folder.startsWith("../")
    ) {
      chain.unreadable.push(component);
      continue;
    }
    chain.listedPaths.push(folder);
    appendChain(chain, collectChain(tree, folder));
  }
  const holders = chain.kustomizationFiles.flatMap((file) => {
    const data = readKustomization(tree, file);
    return data ? [{ file, line: 1, data }] : [];
  });
  if (build.declaredAt) holders.push({ ...build.declaredAt, data: spec });
  // Each reason to skip the build is reported above as a finding.
  const skipBuild = (reason: string, file = ownFile ?? build.path) => {
    sink.skip({
      file: build.declaredAt?.file ?? file,
      line: build.declaredAt?.line ?? 1,
      resource: `build of ${build.path}`,
      reason: `not built: ${reason} (reported above)`,
    });
    return undefined;
  };
  if (reportInlinePatchBombs(holders, sink)) {
    return skipBuild("an inline patch is an alias bomb");
  }
  if (chain.unreadable.length > 0) {
    // Flux fails this build; kustomize here would read what Flux cannot.
    return skipBuild(
      `it lists ${chain.unreadable.join(", ")}, which Flux cannot read`,
    );
  }
  build.kustomizationFiles = chain.kustomizationFiles;
  const readFiles =
    ownFile !== undefined
      ? filesReadBy(tree, build.path, chain.listedPaths)
      : generatedFiles(tree, build.path);
  for (const file of readFiles) result.usedFiles.add(file);

  // kustomize parses only what the kustomizations list, not every file in
  // their folders, and reads generator sources as plain data.
  const parsedFiles = [
    ...new Set([
      ...generated.filter((entry) => tree.files.has(entry)),
      ...chain.kustomizationFiles,
      ...chain.yamlPaths,
    ]),
  ];
  const blocked = parsedFiles.filter(
    (file) => problemsOfListedFile(tree, file, sink).length > 0,
  );
  if (blocked.length > 0) {
    const verb = blocked.length === 1 ? "has" : "have";
    return skipBuild(`${blocked.join(", ")} ${verb} YAML errors`, blocked[0]!);
  }

  const wrapper = await makeBuildFolder();
  try {
    const fromWrapper = path.relative(
      wrapper,
      path.join(tree.root, build.path),
    );
    const resources =
      ownFile !== undefined
        ? [fromWrapper]
        : generated.map((file) =>
            path.relative(wrapper, path.join(tree.root, file)),
          );
    await writeFile(
      path.join(wrapper, "kustomization.yaml"),
      yaml.dump(
        wrapperKustomization(spec, resources, tree.root, build.path, wrapper),
      ),
    );
    const outcome = await timeKustomize(result, () =>
      runKustomize(wrapper, options.limits),
    );
    if (!outcome.ok) {
      const at = build.declaredAt ?? { file: ownFile ?? build.path, line: 1 };
      sink.add({
        rule: "kustomize-build",
        severity: "error",
        file: at.file,
        line: at.line,
        column: 1,
        resource: `build of ${build.path}`,
        message: `kustomize build of ${build.path} failed: ${rewritePaths(outcome.error, wrapper, tree.root)}`,
        fix:
          "run `kubectl kustomize --load-restrictor LoadRestrictionsNone " +
          build.path +
          "` to reproduce, then fix the file it names",
      });
      return undefined;
    }
    try {
      return parseBuildOutput(outcome.output, wrapper, tree, build);
    } catch (error) {
      const at = build.declaredAt ?? { file: ownFile ?? build.path, line: 1 };
      sink.add({
        rule: "kustomize-build",
        severity: "error",
        file: at.file,
        line: at.line,
        column: 1,
        resource: `build of ${build.path}`,
        message: `the output of kustomize for ${build.path} could not be read: ${(error as Error).message.split("\n")[0]}`,
        fix: "look for deeply nested values or unusual YAML in the files this build lists",
      });
      return undefined;
    }
  } finally {
    await removeBuildFolder(wrapper);
  }
}

/** Files a kustomize build of `directory` reads: listed ones and those under listed folders. */
function filesReadBy(
  tree: SourceTree,
  directory: string,
  listedPaths: string[],
): string[] {
  const files = new Set<string>();
  for (const root of [directory, ...listedPaths]) {
    if (tree.files.has(root)) files.add(root);
    for (const file of filesUnder(tree, root)) files.add(file);
  }
  return [...files];
}

/**
 * YAML files under `directory` as Flux's generator finds them: it compares
 * the extension case-sensitively, so `.YAML` files are left out.
 */
function generatedFiles(tree: SourceTree, directory: string): string[] {
  return filesUnder(tree, directory).filter((file) =>
    GENERATED_EXTENSION.test(file),
  );
}

const GENERATED_EXTENSION = /\.ya?ml$/;

/**
 * Lists what Flux's generated kustomization names for a folder without one: its
 * YAML files, and each subfolder with a kustomization as one entry.
 */
function generatedEntries(tree: SourceTree, directory: string): string[] {
  const resources = new Set<string>();
  for (const file of generatedFiles(tree, directory)) {
    // A subfolder with its own kustomization is listed as a folder.
    let folder = path.posix.dirname(file);
    let listed = file;
    while (
      folder !== directory &&
      folder !== "." &&
      isUnder(folder, directory)
    ) {
      if (findKustomizationFile(tree, folder)) listed = folder;
      folder = path.posix.dirname(folder);
    }
    resources.add(listed);
  }
  return [...resources].sort();
}

function wrapperKustomization(
  spec: Record<string, unknown>,
  resources: string[],
  root: string,
  buildPath: string,
  wrapper: string,
): Record<string, unknown> {
  const kustomization: Record<string, unknown> = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources,
    buildMetadata: ["originAnnotations"],
  };
  if (typeof spec.targetNamespace === "string")
    kustomization.namespace = spec.targetNamespace;
  if (typeof spec.namePrefix === "string")
    kustomization.namePrefix = spec.namePrefix;
  if (typeof spec.nameSuffix === "string")
    kustomization.nameSuffix = spec.nameSuffix;
  if (Array.isArray(spec.patches)) kustomization.patches = spec.patches;
  if (Array.isArray(spec.images)) kustomization.images = spec.images;
  if (Array.isArray(spec.components)) {
    kustomization.components = spec.components
      .filter((component): component is string => typeof component === "string")
      .map((component) =>
        path.relative(wrapper, path.join(root, buildPath, component)),
      );
  }
  const labels = getPath(spec, "commonMetadata", "labels");
  if (isPlainObject(labels))
    kustomization.labels = [{ pairs: labels, includeSelectors: false }];
  const annotations = getPath(spec, "commonMetadata", "annotations");
  if (isPlainObject(annotations)) kustomization.commonAnnotations = annotations;
  return kustomization;
}

function parseBuildOutput(
  output: string,
  wrapper: string,
  tree: SourceTree,
  build: Build,
): { text: string; data: unknown; origin: Origin }[] {
  const documents: { text: string; data: unknown; origin: Origin }[] = [];
  for (const raw of splitDocuments(output)) {
    const data = yaml.load(raw.text, YAML_LOAD_OPTIONS);
    if (!isPlainObject(data)) continue;
    const origin = readOrigin(data, wrapper, tree, build);
    documents.push({ text: raw.text, data, origin });
  }
  return documents;
}

/** Reads and removes kustomize's origin annotation, mapping it into the tree. */
function readOrigin(
  data: Record<string, unknown>,
  wrapper: string,
  tree: SourceTree,
  build: Build,
): Origin {
  const metadata = metadataOf(data);
  const annotations = isPlainObject(metadata.annotations)
    ? metadata.annotations
    : undefined;
  const annotation = annotations?.[ORIGIN_ANNOTATION];
  let file: string | undefined;
  if (annotations && typeof annotation === "string") {
    delete annotations[ORIGIN_ANNOTATION];
    if (Object.keys(annotations).length === 0) delete metadata.annotations;
    const parsed = yaml.load(annotation);
    const recorded = isPlainObject(parsed)
      ? typeof parsed.path === "string"
        ? parsed.path
        : typeof parsed.configuredIn === "string"
          ? parsed.configuredIn
          : undefined
      : undefined;
    if (recorded && !(isPlainObject(parsed) && parsed.repo)) {
      file = path
        .relative(tree.root, path.resolve(wrapper, recorded))
        .split(path.sep)
        .join("/");
    }
  }
  file ??= build.kustomizationFiles[0] ?? build.path;
  return { file, line: lineOfObject(tree, file, data) };
}

/** Line of the document in `file` that declares an object of this kind and name. */
function lineOfObject(
  tree: SourceTree,
  file: string,
  data: Record<string, unknown>,
): number {
  const documents = tree.files.get(file)?.documents ?? [];
  const kind = kindOf(data);
  const name = nameOf(data);
  const sameKind = documents.filter(
    (document) => kindOf(document.data) === kind,
  );
  // The rendered name may carry a namePrefix or nameSuffix, so a source
  // name inside it matches too. Of several, the longest is taken, so that
  // `infra` does not take the line of `infra-extra`.
  let best: YamlDocument | undefined;
  for (const document of sameKind) {
    const source = nameOf(document.data);
    if (name === undefined || source === undefined) continue;
    if (source === name) {
      best = document;
      break;
    }
    if (
      name.includes(source) &&
      source.length > (best ? nameOf(best.data)!.length : -1)
    )
      best = document;
  }
  return (best ?? sameKind[0] ?? documents[0])?.line ?? 1;
}

/** Variables of a Kustomization's postBuild, or undefined when there is none. */
interface Variables {
  values: Map<string, string>;
  /** False when a substituteFrom source is not in the tree. */
  complete: boolean;
}

function resolveVariables(
  rendered: RenderedObject[],
  build: Build,
  spec: Record<string, unknown>,
): Variables | undefined {
  const postBuild = spec.postBuild;
  if (!isPlainObject(postBuild)) return undefined;
  const values = new Map<string, string>();
  let complete = true;
  const from = Array.isArray(postBuild.substituteFrom)
    ? postBuild.substituteFrom
    : [];
  const namespace = build.id.split("/")[0] ?? "default";
  for (const reference of from) {
    if (!isPlainObject(reference)) continue;
    // kustomize-controller reads these from the cluster, where an earlier
    // build of the same cluster has applied them.
    // Two builds may apply the same object; take the first by source
    // location, not the build that happened to end first.
    const source = rendered
      .filter(
        (object) =>
          object.build.cluster === build.cluster &&
          kindOf(object.data) === reference.kind &&
          nameOf(object.data) === reference.name &&
          (namespaceOf(object.data) ?? "default") === namespace,
      )
      .sort(
        (a, b) =>
          compareText(a.origin.file, b.origin.file) ||
          a.origin.line - b.origin.line,
      )[0];
    if (!source || source.encrypted) {
      // A Secret created outside git or encrypted: its values are unknown.
      if (reference.optional !== true || source) complete = false;
      continue;
    }
    for (const [key, value] of configData(source.data)) values.set(key, value);
  }
  // Inline values win over substituteFrom, as in kustomize-controller.
  if (isPlainObject(postBuild.substitute)) {
    for (const [key, value] of Object.entries(postBuild.substitute)) {
      values.set(key, typeof value === "string" ? value : String(value));
    }
  }
  return { values, complete };
}

function configData(record: Record<string, unknown>): Map<string, string> {
  const data = new Map<string, string>();
  const secret = kindOf(record) === "Secret";
  if (isPlainObject(record.data)) {
    for (const [key, value] of Object.entries(record.data)) {
      data.set(
        key,
        secret
          ? Buffer.from(String(value), "base64").toString("utf8")
          : String(value),
      );
    }
  }
  if (isPlainObject(record.stringData)) {
    for (const [key, value] of Object.entries(record.stringData))
      data.set(key, String(value));
  }
  return data;
}

function finishObject(
  document: { text: string; data: unknown; origin: Origin },
  build: Build,
  variables: Variables | undefined,
  tree: SourceTree,
  sink: FindingSink,
): RenderedObject | undefined {
  if (!isPlainObject(document.data)) return undefined;
  let data = document.data;
  let unresolved = false;

  // Flux substitutes only when the Kustomization defines at least one
  // variable; otherwise `${...}` stays literal.
  if (
    variables &&
    (variables.values.size > 0 || !variables.complete) &&
    !substitutionDisabled(data)
  ) {
    if (hasExpression(document.text)) {
      const outcome = substitute(
        document.text,
        variables.values,
        !variables.complete,
      );
      if (outcome.undefinedNames.length > 0 && variables.complete) {
        for (const name of new Set(outcome.undefinedNames)) {
          const at = findExpression(tree, document.origin, name);
          sink.add({
            rule: "flux-substitute-undefined",
            severity: "error",
            file: at.file,
            line: at.line,
            column: at.column,
            resource: describeObject(data),
            message: `variable \${${name}} has no value in Flux Kustomization ${build.id} and no default; kustomize-controller (Flux 2.9 and later) fails the reconciliation`,
            fix: `add ${name} to spec.postBuild.substitute of ${build.id}, or write \${${name}:=default}`,
          });
        }
      }
      // Undefined variables are reported above (or unknowable); their
      // literal expressions must not cause schema findings on top.
      unresolved = outcome.undefinedNames.length > 0;
      if (!variables.complete || outcome.undefinedNames.length === 0) {
        let reparsed: unknown;
        try {
          reparsed = yaml.load(outcome.text, YAML_LOAD_OPTIONS);
        } catch (error) {
          sink.add({
            rule: "flux-substitute-result",
            severity: "error",
            file: document.origin.file,
            line: document.origin.line,
            column: 1,
            resource: describeObject(data),
            message: `after variable substitution by ${build.id} the object is no longer valid YAML: ${(error as yaml.YAMLException).reason ?? (error as Error).message.split("\n")[0]}`,
            fix: "quote the value around the ${...} expression, or quote the variable's value in postBuild.substitute",
          });
        }
        if (isPlainObject(reparsed)) {
          // The origin annotation was already removed from the first parse.
          const metadata = metadataOf(reparsed);
          const annotations = metadata.annotations;
          if (isPlainObject(annotations)) {
            delete annotations[ORIGIN_ANNOTATION];
            if (Object.keys(annotations).length === 0)
              delete metadata.annotations;
          }
          data = reparsed;
        }
      }
    }
  }

  let encrypted = false;
  if (kindOf(data) === "Secret" && isPlainObject(data.sops)) {
    encrypted = true;
    if (build.decryptsSops) {
      data = { ...data };
      delete data.sops;
    } else {
      sink.add({
        rule: "sops-without-decryption",
        severity: "error",
        file: document.origin.file,
        line: document.origin.line,
        column: 1,
        resource: describeObject(data),
        message: `SOPS-encrypted Secret, but Flux Kustomization ${build.id} has no spec.decryption; Flux would apply the ciphertext`,
        fix: "set spec.decryption.provider: sops and spec.decryption.secretRef on the Kustomization that applies this path",
      });
      data = { ...data };
      delete data.sops;
    }
  }

  return { data, origin: document.origin, build, encrypted, unresolved };
}

function substitutionDisabled(data: Record<string, unknown>): boolean {
  const metadata = metadataOf(data);
  const labels = isPlainObject(metadata.labels) ? metadata.labels : {};
  const annotations = isPlainObject(metadata.annotations)
    ? metadata.annotations
    : {};
  return (
    labels[SUBSTITUTE_SWITCH] === "disabled" ||
    annotations[SUBSTITUTE_SWITCH] === "disabled"
  );
}

/** Line and column of `${name` in the object's source document. */
function findExpression(
  tree: SourceTree,
  origin: Origin,
  name: string,
): { file: string; line: number; column: number } {
  const file = tree.files.get(origin.file);
  const document = file?.documents.find(
    (candidate) => candidate.line === origin.line,
  );
  if (document) {
    const lines = document.text.split("\n");
    for (const [index, line] of lines.entries()) {
      const column = line.indexOf("${" + name);
      if (column !== -1) {
        // splitDocuments keeps the text after a `---` on the marker line.
        return {
          file: origin.file,
          line: origin.line + index,
          column: column + 1,
        };
      }
    }
  }
  return { file: origin.file, line: origin.line, column: 1 };
}

function rewritePaths(message: string, wrapper: string, root: string): string {
  const fromWrapper = path.relative(wrapper, root);
  return message
    .replaceAll(wrapper + "/", "")
    .replaceAll(wrapper, "(build)")
    .replaceAll(root + "/", "")
    .replaceAll(fromWrapper + "/", "");
}

export function isUnder(file: string, directory: string): boolean {
  return directory === "." || file.startsWith(directory + "/");
}

async function runLimited<T>(
  items: T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, worker),
  );
}

let running = 0;
let busySince = 0;

/** True while a kustomize child runs, so the caller's work overlaps it. */
export function kustomizeRunning(): boolean {
  return running > 0;
}

/**
 * Runs one kustomize build, adding to `kustomizeMs` only the time when no
 * other build was already running, so concurrent builds count once.
 */
async function timeKustomize<T>(
  result: RenderResult,
  run: () => Promise<T>,
): Promise<T> {
  if (running++ === 0) busySince = performance.now();
  try {
    return await run();
  } finally {
    if (--running === 0) result.kustomizeMs += performance.now() - busySince;
  }
}
