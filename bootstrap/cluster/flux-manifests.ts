import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { $, which } from "zx";
import { EXIT_PROBLEM, ToolError, UsageError } from "../../tools/lib/errors.js";
import type { KubernetesObject } from "../../tools/lib/kubernetes.js";

/** A Flux or Kubernetes object as read from YAML, with its other fields. */
export type Manifest = KubernetesObject & Record<string, unknown>;

/** The sync objects of `clusters/<name>/flux-system/gotk-sync.yaml`. */
export interface SyncManifests {
  file: string;
  objects: Manifest[];
  /** The GitRepository Flux pulls this repository through. */
  gitRepository: Manifest & {
    spec: { url: string; secretRef?: { name: string } };
  };
  /** The Kustomization whose Ready condition shows that the hand-over worked. */
  root: Manifest;
}

/** Flux's CRDs and controllers, and where they came from. */
export interface FluxComponents {
  source: string;
  objects: Manifest[];
}

export function syncFile(cluster: string): string {
  return path.join("clusters", cluster, "flux-system", "gotk-sync.yaml");
}

export function componentsFile(cluster: string): string {
  return path.join("clusters", cluster, "flux-system", "gotk-components.yaml");
}

/** Reads the sync objects and finds the GitRepository and root Kustomization. */
export async function readSyncManifests(
  repoRoot: string,
  cluster: string,
): Promise<SyncManifests> {
  const file = syncFile(cluster);
  let text: string;
  try {
    text = await readFile(path.join(repoRoot, file), "utf8");
  } catch (error) {
    throw new UsageError(
      `${file} not found; commit the cluster's Flux sync objects (a GitRepository and a Kustomization) there first`,
      { cause: error },
    );
  }
  const objects = parseManifests(text, file);
  const repositories = objects.filter(
    (object) => object.kind === "GitRepository",
  );
  if (repositories.length !== 1) {
    throw new UsageError(
      `${file} contains ${repositories.length} GitRepository objects; it needs exactly one, the repository Flux pulls`,
    );
  }
  const gitRepository = repositories[0] as SyncManifests["gitRepository"];
  if (typeof gitRepository.spec?.url !== "string") {
    throw new UsageError(
      `${file}: GitRepository ${gitRepository.metadata.name} has no spec.url`,
    );
  }
  const root = objects.find(
    (object) =>
      object.kind === "Kustomization" &&
      (object.spec as { sourceRef?: { name?: string } } | undefined)?.sourceRef
        ?.name === gitRepository.metadata.name,
  );
  if (!root) {
    throw new UsageError(
      `${file} contains no Kustomization with sourceRef ${gitRepository.metadata.name}; add the one that applies ./clusters/${cluster}`,
    );
  }
  return { file, objects, gitRepository, root };
}

/**
 * Returns Flux's components from a committed gotk-components.yaml, else
 * from `flux install --export` of the operator's flux CLI, which prints the
 * same manifests for that CLI's Flux version.
 */
export async function readComponents(
  repoRoot: string,
  cluster: string,
  cli: FluxCli,
): Promise<FluxComponents> {
  const file = componentsFile(cluster);
  let text: string | undefined;
  try {
    text = await readFile(path.join(repoRoot, file), "utf8");
  } catch {
    // Not committed: fall back to the CLI below.
  }
  if (text !== undefined) {
    return { source: file, objects: parseManifests(text, file) };
  }
  const exported = await cli.exportComponents(file);
  return {
    source: `flux install --export (${exported.version})`,
    objects: parseManifests(
      exported.manifests,
      "the output of flux install --export",
    ),
  };
}

/** The operator's flux CLI; tests put a stand-in executable on PATH. */
export interface FluxCli {
  exportComponents(
    committedFile: string,
  ): Promise<{ version: string; manifests: string }>;
}

/** Runs flux through zx, finding it on `environment.PATH`. */
export function createFluxCli(
  environment: Record<string, string | undefined>,
): FluxCli {
  return {
    async exportComponents(committedFile) {
      const executable = await which("flux", {
        path: environment.PATH ?? "",
        nothrow: true,
      });
      if (!executable) {
        throw new UsageError(
          `the flux CLI is not on PATH and ${committedFile} is not committed; install the CLI (https://fluxcd.io/flux/installation/) ` +
            `or commit the components with "flux install --export > ${committedFile}"`,
        );
      }
      const shell = $({
        env: environment as NodeJS.ProcessEnv,
        quiet: true,
        nothrow: true,
        timeout: "2m",
      });
      const version = await shell`${executable} --version`;
      const output =
        await shell`${executable} install --export --namespace=flux-system`;
      if (output.exitCode !== 0) {
        const detail = output.stderr.trim().split("\n").slice(-5).join("\n");
        throw new ToolError(
          `${executable} install --export failed with exit code ${output.exitCode}: ${detail || "no output"}`,
          EXIT_PROBLEM,
        );
      }
      return {
        version: version.stdout.trim() || "unknown version",
        manifests: output.stdout,
      };
    },
  };
}

/** Parses a multi-document YAML stream into objects, skipping empty ones. */
export function parseManifests(text: string, source: string): Manifest[] {
  const documents = parseAllDocuments(text);
  const objects: Manifest[] = [];
  for (const document of documents) {
    if (document.errors.length > 0) {
      throw new UsageError(
        `invalid YAML in ${source}: ${document.errors[0]!.message}`,
      );
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    const object = value as Partial<Manifest>;
    if (!object.apiVersion || !object.kind || !object.metadata?.name) {
      throw new UsageError(
        `${source} contains a document without apiVersion, kind and metadata.name; every document must be one Kubernetes object`,
      );
    }
    objects.push(object as Manifest);
  }
  return objects;
}
