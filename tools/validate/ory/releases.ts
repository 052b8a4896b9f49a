import type { Environment, OryService, Tier } from "../../lib/environment.js";
import type { Finding, FindingSink } from "../findings.js";
import type { Locator } from "../locate.js";
import {
  describeObject,
  getPath,
  kindOf,
  nameOf,
  namespaceOf,
  type RenderedObject,
} from "../objects.js";
import type { SourceTree } from "../repository.js";
import { isPlainObject, type FieldPath } from "../structural-schema.js";
import { chartSourceOf, type ChartSource } from "./charts.js";
import { locateField, locateValue } from "./location.js";
import { mergeValues, type ValuesSource } from "./values.js";

export { deepMerge } from "./values.js";

/** A HelmRelease of any chart, with the values its chart will get. */
export interface HelmReleaseValues {
  object: RenderedObject;
  /** The chart, when the release names one that the tree resolves. */
  chart: ChartSource | undefined;
  /** valuesFrom merged in order, then spec.values on top, as helm-controller does. */
  values: Record<string, unknown>;
  /** True when some valuesFrom source is not in git, so values may hold more. */
  valuesIncomplete: boolean;
  /** The valuesFrom source that last supplied each top-level key. */
  sources: Map<string, ValuesSource>;
}

/** One HelmRelease of an Ory chart, with the values its pods will see. */
export interface OryRelease extends HelmReleaseValues {
  chart: ChartSource;
  service: OryService;
  /** Helm release name: the chart derives Service and Secret names from it. */
  releaseName: string;
  /** Namespace the chart installs into. */
  namespace: string;
  /**
   * True when the cluster's environment model exists but is invalid: its
   * declared Secrets are unknown, and that model's own finding says why.
   */
  secretsUnknown: boolean;
  environment: Environment | undefined;
  /** The environment's tier; production when the repository has no model. */
  tier: Tier;
}

/** A Secret the cluster has: from git (maybe SOPS-encrypted) or the model. */
export interface KnownSecret {
  keys: Set<string>;
  source: "git" | "sops" | "environment-model";
  object?: RenderedObject;
}

/** Everything the Ory rules read, built once per run. */
export interface OryContext {
  releases: OryRelease[];
  /** Every HelmRelease, Ory or not, with its merged values. */
  helmReleases: HelmReleaseValues[];
  objects: RenderedObject[];
  environments: Environment[];
  /** Secrets per cluster, keyed `namespace/name`. */
  secrets: Map<string, Map<string, KnownSecret>>;
  sink: FindingSink;
  locator: Locator;
  /** Every YAML file in git, also those no build reads. */
  tree: SourceTree;
}

const ORY_CHARTS: Record<string, OryService> = {
  hydra: "hydra",
  kratos: "kratos",
  keto: "keto",
};

/** Finds the Ory releases among the rendered objects. */
export function buildOryContext(
  objects: RenderedObject[],
  environments: Environment[],
  sink: FindingSink,
  locator: Locator,
  tree: SourceTree,
  invalidModels = false,
): OryContext {
  const secrets = collectSecrets(objects, environments);
  const helmReleases: HelmReleaseValues[] = [];
  const releases: OryRelease[] = [];
  for (const object of objects) {
    if (kindOf(object.data) !== "HelmRelease") continue;
    const chart = chartSourceOf(object, objects);
    const merged = mergeValues(object, objects);
    const helmRelease: HelmReleaseValues = {
      object,
      chart,
      values: merged.values,
      valuesIncomplete: merged.incomplete,
      sources: merged.sources,
    };
    helmReleases.push(helmRelease);

    const service = chart?.names
      .map((name) => ORY_CHARTS[name])
      .find((found) => found !== undefined);
    if (!chart || !service) continue;
    const environment = environmentOfCluster(
      environments,
      object.build.cluster,
    );
    const targetNamespace = stringAt(object.data, "spec", "targetNamespace");
    const name = nameOf(object.data) ?? service;
    releases.push({
      ...helmRelease,
      chart,
      service,
      releaseName:
        stringAt(object.data, "spec", "releaseName") ??
        (targetNamespace ? `${targetNamespace}-${name}` : name),
      namespace: targetNamespace ?? namespaceOf(object.data) ?? "default",
      secretsUnknown: environment === undefined && invalidModels,
      environment,
      tier: environment?.tier ?? "production",
    });
  }
  return {
    releases,
    helmReleases,
    objects,
    environments,
    secrets,
    sink,
    locator,
    tree,
  };
}

export function environmentOfCluster(
  environments: Environment[],
  cluster: string,
): Environment | undefined {
  return environments.find(
    (environment) =>
      environment.clusters.ory === cluster ||
      environment.clusters.crdb === cluster,
  );
}

function collectSecrets(
  objects: RenderedObject[],
  environments: Environment[],
): Map<string, Map<string, KnownSecret>> {
  const byCluster = new Map<string, Map<string, KnownSecret>>();
  const forCluster = (cluster: string) => {
    let secrets = byCluster.get(cluster);
    if (!secrets) byCluster.set(cluster, (secrets = new Map()));
    return secrets;
  };
  for (const environment of environments) {
    const secrets = forCluster(environment.clusters.ory);
    for (const declared of environment.secrets) {
      secrets.set(`${declared.namespace}/${declared.name}`, {
        keys: new Set(declared.keys),
        source: "environment-model",
      });
    }
  }
  for (const object of objects) {
    if (kindOf(object.data) !== "Secret") continue;
    const keys = new Set<string>();
    for (const field of ["data", "stringData"]) {
      const entries = object.data[field];
      if (isPlainObject(entries))
        for (const key of Object.keys(entries)) keys.add(key);
    }
    forCluster(object.build.cluster).set(
      `${namespaceOf(object.data) ?? "default"}/${nameOf(object.data)}`,
      { keys, source: object.encrypted ? "sops" : "git", object },
    );
  }
  return byCluster;
}

function stringAt(data: unknown, ...keys: string[]): string | undefined {
  const value = getPath(data, ...keys);
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Reads a dotted path of the merged values. */
export function valueAt(release: HelmReleaseValues, path: string): unknown {
  return getPath(release.values, ...path.split("."));
}

/**
 * Reports a finding located at a values path of a release: where spec.values
 * (or the last overlay patch) sets it, or in the valuesFrom ConfigMap or
 * Secret that supplied it.
 */
export function reportValue(
  context: OryContext,
  release: HelmReleaseValues,
  path: string | FieldPath,
  finding: Omit<Finding, "file" | "line" | "column" | "resource">,
): void {
  const fieldPath =
    typeof path === "string" ? (path === "" ? [] : path.split(".")) : path;
  context.sink.add({
    ...finding,
    ...locateValue(context, release, fieldPath),
    resource: describeObject(release.object.data),
  });
}

/** Reports a finding at a field of any rendered object. */
export function reportObject(
  context: OryContext,
  object: RenderedObject,
  path: FieldPath,
  finding: Omit<Finding, "file" | "line" | "column" | "resource">,
): void {
  context.sink.add({
    ...finding,
    ...locateField(context, object, path),
    resource: describeObject(object.data),
  });
}

/** The Secret named `name` in the release's cluster and namespace. */
export function findSecret(
  context: OryContext,
  release: OryRelease,
  name: string,
): KnownSecret | undefined {
  return context.secrets
    .get(release.object.build.cluster)
    ?.get(`${release.namespace}/${name}`);
}
