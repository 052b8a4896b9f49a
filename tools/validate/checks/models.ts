import { readFileSync } from "node:fs";
import path from "node:path";
import { checkClusterSpec, type ClusterSpec } from "../../lib/cluster.js";
import { parseEnvironment, type Environment } from "../../lib/environment.js";
import type { FindingSink } from "../findings.js";
import type { Locator } from "../locate.js";
import type { SourceTree } from "../repository.js";
import type { DeclaredSecrets } from "./references.js";

const ENVIRONMENT_FILE = /^environments\/([^/]+)\/environment\.ya?ml$/;
const CLUSTER_FILE = /^clusters\/([^/]+)\/cluster\.ya?ml$/;

export interface Models {
  environments: Environment[];
  clusters: Map<string, ClusterSpec>;
  /** Files that hold a model, so no other check reads them as manifests. */
  files: Set<string>;
  /** `environment:<name>` and `cluster:<name>` whose model file is invalid. */
  invalid: Set<string>;
}

/**
 * Reads and checks the environment models and cluster specs of the tree.
 * A tree without them (any Flux repository) yields empty models.
 */
export function checkModels(
  tree: SourceTree,
  sink: FindingSink,
  locator: Locator,
): Models {
  const models: Models = {
    environments: [],
    clusters: new Map(),
    files: new Set(),
    invalid: new Set(),
  };
  for (const file of tree.files.values()) {
    if (ENVIRONMENT_FILE.test(file.path)) {
      models.files.add(file.path);
      if (file.problems.length > 0) continue;
      const text = readFileSync(path.join(tree.root, file.path), "utf8");
      const { environment, problems } = parseEnvironment(text, file.path);
      for (const problem of problems) {
        sink.add({
          rule: "environment-model",
          severity: "error",
          file: problem.file,
          line: problem.line,
          column: problem.column,
          message: problem.message,
          fix: "see the Environment type in tools/lib/environment.ts for each field",
        });
      }
      if (environment) models.environments.push(environment);
      else
        models.invalid.add(
          `environment:${ENVIRONMENT_FILE.exec(file.path)?.[1]}`,
        );
    } else if (CLUSTER_FILE.test(file.path)) {
      models.files.add(file.path);
      const data = file.documents[0]?.data;
      const folder = CLUSTER_FILE.exec(file.path)?.[1] ?? "";
      if (file.problems.length > 0 || data === undefined) {
        models.invalid.add(`cluster:${folder}`);
        continue;
      }
      const problems = checkClusterSpec(data);
      for (const problem of problems) {
        const at = locator.locateInFile(
          file.path,
          pointerToPath(problem.pointer),
        );
        sink.add({
          rule: "cluster-spec",
          severity: "error",
          ...at,
          message: problem.message,
          fix: "see the ClusterSpec type in tools/lib/cluster.ts for each field",
        });
      }
      if (problems.length === 0) {
        models.clusters.set(folder, data as ClusterSpec);
      } else {
        models.invalid.add(`cluster:${folder}`);
      }
    }
  }
  checkCrossModel(models, sink, locator);
  return models;
}

function checkCrossModel(
  models: Models,
  sink: FindingSink,
  locator: Locator,
): void {
  const environments = new Map(
    models.environments.map((environment) => [environment.name, environment]),
  );
  for (const environment of models.environments) {
    const file = `environments/${environment.name}/environment.yaml`;
    if (
      environment.promotesTo !== null &&
      !environments.has(environment.promotesTo) &&
      !models.invalid.has(`environment:${environment.promotesTo}`)
    ) {
      sink.add({
        rule: "environment-model",
        severity: "error",
        ...locator.locateInFile(file, ["promotesTo"]),
        message: `promotesTo names "${environment.promotesTo}", which has no environments/${environment.promotesTo}/environment.yaml`,
        fix: `create that environment or set promotesTo to one of: ${[...environments.keys()].join(", ")}, or null`,
      });
    }
    for (const role of ["ory", "crdb"] as const) {
      const cluster = environment.clusters[role];
      // An invalid cluster.yaml is reported on its own; do not repeat it.
      if (
        cluster === null ||
        models.clusters.has(cluster) ||
        models.invalid.has(`cluster:${cluster}`)
      ) {
        continue;
      }
      sink.add({
        rule: "environment-model",
        severity: "error",
        ...locator.locateInFile(file, ["clusters", role]),
        message: `clusters.${role} names "${cluster}", but clusters/${cluster}/cluster.yaml is missing or invalid`,
        fix: `add clusters/${cluster}/cluster.yaml or correct the name`,
      });
    }
  }
  for (const [folder, spec] of models.clusters) {
    const file = `clusters/${folder}/cluster.yaml`;
    const report = (field: (string | number)[], message: string, fix: string) =>
      sink.add({
        rule: "cluster-spec",
        severity: "error",
        ...locator.locateInFile(file, field),
        message,
        fix,
      });
    if (spec.name !== folder) {
      report(
        ["name"],
        `name "${spec.name}" differs from its folder "${folder}"`,
        "rename one so they match",
      );
    }
    const environment = environments.get(spec.environment);
    if (!environment && models.invalid.has(`environment:${spec.environment}`)) {
      continue;
    }
    if (!environment) {
      report(
        ["environment"],
        `environment "${spec.environment}" has no environments/${spec.environment}/environment.yaml`,
        "correct the environment name",
      );
      continue;
    }
    if (environment.clusters[spec.role] !== spec.name) {
      report(
        ["role"],
        `environment ${environment.name} names "${environment.clusters[spec.role] ?? "none"}" as its ${spec.role} cluster, not "${spec.name}"`,
        `set clusters.${spec.role} in environments/${environment.name}/environment.yaml, or correct role`,
      );
    }
    const zones = Object.keys(spec.subnets).sort();
    const expected = [...environment.aws.zones].sort();
    if (zones.join() !== expected.join()) {
      report(
        ["subnets"],
        `subnets cover zones ${zones.join(", ")}, but environment ${environment.name} runs in ${expected.join(", ")}`,
        "list one or more subnets for each of the environment's zones and no others",
      );
    }
  }
}

/** Secrets each cluster gets outside git, from the environment models. */
export function declaredSecrets(models: Models): DeclaredSecrets {
  const declared: DeclaredSecrets = new Map();
  for (const environment of models.environments) {
    const names = new Set(
      environment.secrets.map((secret) => `${secret.namespace}/${secret.name}`),
    );
    declared.set(environment.clusters.ory, names);
  }
  return declared;
}

function pointerToPath(pointer: string): (string | number)[] {
  return pointer
    .split("/")
    .slice(1)
    .map((part) =>
      /^\d+$/.test(part)
        ? Number(part)
        : part.replaceAll("~1", "/").replaceAll("~0", "~"),
    );
}
