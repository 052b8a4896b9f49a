import type { FindingSink } from "../findings.js";
import type { Locator } from "../locate.js";
import {
  apiVersionOf,
  describeObject,
  getPath,
  kindOf,
  type RenderedObject,
} from "../objects.js";
import { isPlainObject } from "../structural-schema.js";
import { VARIABLE_NAME } from "../substitute.js";

/**
 * The rules Flux's CRDs enforce on the server with CEL expressions, which a
 * structural schema cannot carry: a HelmRelease names its chart in exactly
 * one way, and substitution variable names are ones envsubst can read.
 */
export function checkFluxRules(
  objects: RenderedObject[],
  sink: FindingSink,
  locator: Locator,
): void {
  for (const object of objects) {
    const apiVersion = apiVersionOf(object.data) ?? "";
    const kind = kindOf(object.data);
    if (
      kind === "HelmRelease" &&
      apiVersion.startsWith("helm.toolkit.fluxcd.io/")
    ) {
      checkChartSource(object, sink, locator);
    }
    if (
      kind === "Kustomization" &&
      apiVersion.startsWith("kustomize.toolkit.fluxcd.io/")
    ) {
      checkVariableNames(object, sink, locator);
    }
  }
}

function checkChartSource(
  object: RenderedObject,
  sink: FindingSink,
  locator: Locator,
): void {
  const spec = getPath(object.data, "spec");
  if (!isPlainObject(spec)) return;
  const hasChart = spec.chart !== undefined && spec.chart !== null;
  const hasChartRef = spec.chartRef !== undefined && spec.chartRef !== null;
  if (hasChart === hasChartRef) {
    const at = locator.locate(
      object,
      hasChart ? ["spec", "chartRef"] : ["spec"],
    );
    sink.add({
      rule: "helmrelease-chart-source",
      severity: "error",
      ...at,
      resource: describeObject(object.data),
      message: hasChart
        ? "spec.chart and spec.chartRef are both set; helm-controller accepts exactly one of them"
        : "neither spec.chart nor spec.chartRef is set; helm-controller has no chart to install",
      fix: hasChart
        ? "keep spec.chart (a chart from a HelmRepository) or spec.chartRef (an OCIRepository or HelmChart), not both"
        : "add spec.chart.spec with chart, version and sourceRef, or spec.chartRef",
    });
  }
}

function checkVariableNames(
  object: RenderedObject,
  sink: FindingSink,
  locator: Locator,
): void {
  const substitute = getPath(object.data, "spec", "postBuild", "substitute");
  if (!isPlainObject(substitute)) return;
  for (const name of Object.keys(substitute)) {
    if (VARIABLE_NAME.test(name)) continue;
    const at = locator.locate(object, [
      "spec",
      "postBuild",
      "substitute",
      name,
    ]);
    sink.add({
      rule: "flux-substitute-name",
      severity: "error",
      ...at,
      resource: describeObject(object.data),
      message: `variable name "${name}" is invalid; kustomize-controller requires names matching ${VARIABLE_NAME.source}`,
      fix: "use letters, digits and underscores only, starting with a letter or underscore",
    });
  }
}
