import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { checkClusterSpec, type ClusterSpec } from "../../tools/lib/cluster.js";
import {
  environmentFile,
  loadEnvironment,
  type Environment,
} from "../../tools/lib/environment.js";
import { UsageError } from "../../tools/lib/errors.js";

/** A cluster.yaml joined with the facts its environment adds. */
export interface DesiredCluster {
  spec: ClusterSpec;
  /** Path of the cluster.yaml relative to the repository root. */
  file: string;
  region: string;
  /** The environment's availability zones, in the model's order. */
  zones: string[];
  /** Every subnet of cluster.yaml, zone by zone in the model's zone order. */
  subnetIds: string[];
  /** AWS account id taken from clusterRoleArn. */
  accountId: string;
}

const CLUSTER_NAME = /^[a-z0-9][-a-z0-9]{0,99}$/;

/** Path of a cluster's spec relative to the repository root. */
export function clusterFile(name: string): string {
  return path.join("clusters", name, "cluster.yaml");
}

/**
 * Reads `clusters/<name>/cluster.yaml` and its environment, checks both
 * against their schemas and each other, and returns the desired state.
 * Throws a UsageError naming the file, line and fix for any problem.
 */
export async function loadDesiredCluster(
  repoRoot: string,
  name: string,
): Promise<DesiredCluster> {
  if (!CLUSTER_NAME.test(name)) {
    throw new UsageError(
      `invalid cluster name "${name}": use the folder name under clusters/, e.g. dev-ory`,
    );
  }
  const file = clusterFile(name);
  const text = await readSpecText(repoRoot, file, name);
  const spec = parseClusterSpec(text, file);

  if (spec.name !== name) {
    throw new UsageError(
      `${file}: name "${spec.name}" differs from its folder "${name}"; rename one so they match`,
    );
  }
  const environment = await loadEnvironment(repoRoot, spec.environment);
  checkAgainstEnvironment(spec, file, environment);

  return {
    spec,
    file,
    region: environment.aws.region,
    zones: environment.aws.zones,
    subnetIds: environment.aws.zones.flatMap(
      (zone) => spec.subnets[zone] ?? [],
    ),
    accountId: spec.clusterRoleArn.split(":")[4] ?? "",
  };
}

async function readSpecText(
  repoRoot: string,
  file: string,
  name: string,
): Promise<string> {
  try {
    return await readFile(path.join(repoRoot, file), "utf8");
  } catch (error) {
    const known = await listClusterNames(repoRoot);
    throw new UsageError(
      `cluster "${name}" not found: ${file} does not exist. Known clusters: ${known.join(", ") || "none"}`,
      { cause: error },
    );
  }
}

/** Parses and schema-checks the text of one cluster.yaml. */
export function parseClusterSpec(text: string, file: string): ClusterSpec {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (document.errors.length > 0) {
    const lines = document.errors.map((error) => {
      const at = lineCounter.linePos(error.pos[0]);
      return `  ${file}:${at.line}:${at.col}: ${error.message}`;
    });
    throw new UsageError(`invalid YAML in ${file}:\n${lines.join("\n")}`);
  }

  const data: unknown = document.toJS();
  const problems = checkClusterSpec(data);
  if (problems.length > 0) {
    const lines = problems.map((problem) => {
      const line = lineOf(document, lineCounter, problem.pointer);
      return `  ${file}:${line}: ${problem.message}`;
    });
    throw new UsageError(`invalid cluster spec:\n${lines.join("\n")}`);
  }
  return data as ClusterSpec;
}

/** Line of the deepest node on `pointer` that exists; 1 when none does. */
function lineOf(
  document: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
  pointer: string,
): number {
  const keys = pointer
    .split("/")
    .slice(1)
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
  for (let depth = keys.length; depth >= 0; depth--) {
    const node = document.getIn(keys.slice(0, depth), true) as
      { range?: [number, number, number] } | undefined;
    if (node && typeof node === "object" && node.range) {
      return lineCounter.linePos(node.range[0]).line;
    }
  }
  return 1;
}

function checkAgainstEnvironment(
  spec: ClusterSpec,
  file: string,
  environment: Environment,
): void {
  const modelFile = environmentFile(environment.name);
  const problems: string[] = [];

  if (!spec.endpointAccess.public && !spec.endpointAccess.private) {
    problems.push(
      `${file}: endpointAccess has both public and private set to false, which EKS rejects; enable at least one`,
    );
  }

  const named = environment.clusters[spec.role];
  if (named !== spec.name) {
    problems.push(
      `${modelFile} names "${named ?? "no cluster"}" as its ${spec.role} cluster, but ${file} describes "${spec.name}" with role ${spec.role}; fix the role or the environment's clusters.${spec.role}`,
    );
  }

  const zones = Object.keys(spec.subnets);
  const expected = environment.aws.zones;
  const unknown = zones.filter((zone) => !expected.includes(zone));
  const uncovered = expected.filter((zone) => !zones.includes(zone));
  if (unknown.length > 0) {
    problems.push(
      `${file}: subnets lists ${unknown.join(", ")}, which ${modelFile} does not name (its zones: ${expected.join(", ")}); move those subnets under the environment's zones`,
    );
  }
  if (uncovered.length > 0) {
    problems.push(
      `${file}: subnets has no subnet in ${uncovered.join(", ")}; add one subnet id per zone of ${modelFile}`,
    );
  }

  if (problems.length > 0) {
    throw new UsageError(problems.join("\n"));
  }
}

/** Names of the folders under `clusters/` that hold a cluster.yaml. */
export async function listClusterNames(repoRoot: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(path.join(repoRoot, "clusters"), {
      withFileTypes: true,
    });
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    try {
      await readFile(path.join(repoRoot, clusterFile(entry.name)));
      names.push(entry.name);
    } catch {
      // A folder without cluster.yaml is not a cluster this command manages.
    }
  }
  return names.sort();
}
