import {
  getPath,
  kindOf,
  nameOf,
  namespaceOf,
  type RenderedObject,
} from "../objects.js";
import type { FieldPath } from "../structural-schema.js";

/** Where a HelmRelease's chart comes from, and the version it requests. */
export interface ChartSource {
  /** Chart name candidates: the chart's name, path segment, source name or URL segment. */
  names: string[];
  /** The object that pins the version: the release or its chartRef target. */
  object: RenderedObject;
  /** Field of `object` that sets the version, or would set it. */
  versionPath: FieldPath;
  version: string | undefined;
  /** True for an OCI digest, which pins the chart as exactly as a version. */
  digest: boolean;
}

/**
 * Finds a HelmRelease's chart: `spec.chart.spec.chart` as a name or a path
 * (`./helm/charts/hydra`), or the OCIRepository or HelmChart that
 * `spec.chartRef` names in the same cluster. Undefined when the release has
 * neither or its chartRef target is not among the rendered objects.
 */
export function chartSourceOf(
  release: RenderedObject,
  objects: RenderedObject[],
): ChartSource | undefined {
  const chart = getPath(release.data, "spec", "chart", "spec", "chart");
  if (typeof chart === "string") {
    const version = getPath(release.data, "spec", "chart", "spec", "version");
    return {
      names: [lastSegment(chart)],
      object: release,
      versionPath: ["spec", "chart", "spec", "version"],
      version: typeof version === "string" ? version : undefined,
      digest: false,
    };
  }

  const reference = getPath(release.data, "spec", "chartRef");
  const kind = getPath(reference, "kind");
  const name = getPath(reference, "name");
  if (typeof name !== "string") return undefined;
  if (kind !== "OCIRepository" && kind !== "HelmChart") return undefined;
  const namespaceRef = getPath(reference, "namespace");
  const namespace =
    typeof namespaceRef === "string"
      ? namespaceRef
      : (namespaceOf(release.data) ?? "default");
  const target = objects.find(
    (object) =>
      object.build.cluster === release.build.cluster &&
      kindOf(object.data) === kind &&
      nameOf(object.data) === name &&
      (namespaceOf(object.data) ?? "default") === namespace,
  );
  if (!target) return undefined;
  return kind === "OCIRepository"
    ? ociChart(target, name)
    : helmChart(target, name);
}

function ociChart(target: RenderedObject, name: string): ChartSource {
  const url = getPath(target.data, "spec", "url");
  const names = [name];
  if (typeof url === "string") names.push(lastSegment(url));
  const digest = getPath(target.data, "spec", "ref", "digest");
  const semver = getPath(target.data, "spec", "ref", "semver");
  const tag = getPath(target.data, "spec", "ref", "tag");
  // OCIRepository resolves ref.digest first, then semver, then tag.
  if (typeof digest === "string") {
    return {
      names,
      object: target,
      versionPath: ["spec", "ref", "digest"],
      version: digest,
      digest: true,
    };
  }
  const field = typeof semver === "string" ? "semver" : "tag";
  const version = typeof semver === "string" ? semver : tag;
  return {
    names,
    object: target,
    versionPath: ["spec", "ref", field],
    version: typeof version === "string" ? version : undefined,
    digest: false,
  };
}

function helmChart(target: RenderedObject, name: string): ChartSource {
  const chart = getPath(target.data, "spec", "chart");
  const version = getPath(target.data, "spec", "version");
  return {
    names: [name, ...(typeof chart === "string" ? [lastSegment(chart)] : [])],
    object: target,
    versionPath: ["spec", "version"],
    version: typeof version === "string" ? version : undefined,
    digest: false,
  };
}

/** `./helm/charts/hydra/` and `oci://ghcr.io/ory/hydra` both end in hydra. */
function lastSegment(reference: string): string {
  const segments = reference.split("/").filter((part) => part !== "");
  return segments[segments.length - 1] ?? reference;
}
