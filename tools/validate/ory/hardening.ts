import type { OryService } from "../../lib/environment.js";
import {
  getPath,
  kindOf,
  namespaceOf,
  type RenderedObject,
} from "../objects.js";
import { isPlainObject, type FieldPath } from "../structural-schema.js";
import { imageOf } from "./promotion.js";
import {
  reportObject,
  reportValue,
  valueAt,
  type OryContext,
  type OryRelease,
} from "./releases.js";

/** Services that must never face the internet. */
const PRIVATE_SERVICES: Record<OryService, string[]> = {
  hydra: ["admin"],
  kratos: ["admin"],
  keto: ["read", "write"],
};

export const ZONE_KEY = "topology.kubernetes.io/zone";

/** A version tag (v26.2, v26.2.0, v26.2.0-rc.1) as opposed to a branch or channel name. */
const VERSION_TAG = /^v?\d+\.\d+(\.\d+)?(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const EXACT_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/** Applies the staging and production rules to one Ory release. */
export function checkHardening(context: OryContext, release: OryRelease): void {
  const tier = release.tier;
  checkImagePinned(context, release);
  checkChartVersion(context, release);
  checkReplicas(context, release);
  const spread = valueAt(release, "deployment.topologySpreadConstraints");
  const spreadsZones =
    Array.isArray(spread) &&
    spread.some(
      (constraint) =>
        isPlainObject(constraint) && constraint.topologyKey === ZONE_KEY,
    );
  if (!spreadsZones) {
    reportValue(context, release, "deployment", {
      rule: "ory-zone-spread",
      severity: "error",
      message: `${release.service} has no topology spread over ${ZONE_KEY} in the ${tier} tier: all replicas may land in one zone`,
      fix: `add deployment.topologySpreadConstraints with topologyKey: ${ZONE_KEY} and maxSkew: 1`,
    });
  }
  if (valueAt(release, "pdb.enabled") !== true) {
    reportValue(context, release, "pdb", {
      rule: "ory-pdb",
      severity: "error",
      message: `${release.service} has no PodDisruptionBudget in the ${tier} tier: a node drain may evict every replica at once`,
      fix: "set pdb.enabled: true with pdb.spec.minAvailable: 2",
    });
  }
  const requests = valueAt(release, "deployment.resources.requests");
  if (
    !isPlainObject(requests) ||
    requests.cpu === undefined ||
    requests.memory === undefined
  ) {
    reportValue(context, release, "deployment.resources", {
      rule: "ory-resources",
      severity: "error",
      message: `${release.service} sets no cpu and memory requests in the ${tier} tier: the scheduler may pack it onto a full node, and it is evicted first under pressure`,
      fix: "set deployment.resources.requests.cpu and .memory",
    });
  }
  checkAdminExposure(context, release);
}

function checkImagePinned(context: OryContext, release: OryRelease): void {
  const image = imageOf(release);
  if (image.digest) return;
  if (image.tag !== undefined && VERSION_TAG.test(image.tag)) return;
  reportValue(
    context,
    release,
    image.tag === undefined ? "image" : image.path,
    {
      rule: "ory-image-pinned",
      severity: "error",
      message: `${release.service} runs image tag ${image.tag === undefined ? "from the chart default" : `"${image.tag}", which is not a version`} in the ${release.tier} tier: what runs can change without a commit`,
      fix: "set image.tag to a release such as v26.2.0, or a digest, in the environment's versions.yaml",
    },
  );
}

function checkChartVersion(context: OryContext, release: OryRelease): void {
  const { version, digest, object, versionPath } = release.chart;
  if (digest || (version !== undefined && EXACT_VERSION.test(version))) return;
  const path: FieldPath =
    version === undefined ? versionPath.slice(0, -1) : versionPath;
  reportObject(context, object, path, {
    rule: "ory-chart-version-exact",
    severity: "error",
    message: `chart version ${version !== undefined ? `"${version}" is a range` : "is not set"} in the ${release.tier} tier: helm-controller upgrades whenever a matching chart appears`,
    fix: `pin ${versionPath.join(".")} to one exact version, e.g. 0.62.1`,
  });
}

/**
 * Checks the replica floor: autoscaling.minReplicas when a
 * HorizontalPodAutoscaler is on, else replicaCount. Hydra reads
 * deployment.autoscaling, kratos the top-level autoscaling, keto either.
 */
function checkReplicas(context: OryContext, release: OryRelease): void {
  const prefix = ["deployment.autoscaling", "autoscaling"].find(
    (path) => valueAt(release, `${path}.enabled`) === true,
  );
  const path = prefix ? `${prefix}.minReplicas` : "replicaCount";
  const effective = valueAt(release, path);
  if (typeof effective === "number" && effective >= 3) return;
  reportValue(context, release, path, {
    rule: "ory-replicas",
    severity: "error",
    message: `${release.service} runs ${typeof effective === "number" ? effective : prefix ? "the autoscaler's default minimum of 1" : "the chart's default of 1"} replica(s) in the ${release.tier} tier: losing one zone or node takes it down`,
    fix: prefix
      ? `set ${prefix}.minReplicas: 3 (one per zone)`
      : "set replicaCount: 3 (one per zone)",
  });
}

/**
 * Returns true for the annotations that make the AWS Load Balancer
 * Controller (scheme) or the in-tree AWS cloud provider (internal) create an
 * internal load balancer. Without one of them it faces the internet.
 */
function isInternalLoadBalancer(annotations: unknown): boolean {
  if (!isPlainObject(annotations)) return false;
  return (
    annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] ===
      "internal" ||
    annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] ===
      "true"
  );
}

function checkAdminExposure(context: OryContext, release: OryRelease): void {
  const reach =
    release.service === "keto"
      ? "grant any permission"
      : "create clients and identities";
  for (const suffix of PRIVATE_SERVICES[release.service]) {
    const type = valueAt(release, `service.${suffix}.type`);
    const annotations = valueAt(release, `service.${suffix}.annotations`);
    let exposure: { path: string; through: string } | undefined;
    if (valueAt(release, `ingress.${suffix}.enabled`) === true) {
      exposure = { path: `ingress.${suffix}`, through: "an Ingress" };
    } else if (type === "NodePort") {
      exposure = {
        path: `service.${suffix}.type`,
        through: "a NodePort on every node",
      };
    } else if (
      type === "LoadBalancer" &&
      !isInternalLoadBalancer(annotations)
    ) {
      exposure = {
        path: `service.${suffix}.type`,
        through: "an internet-facing load balancer",
      };
    }
    if (exposure) {
      reportValue(context, release, exposure.path, {
        rule: "ory-admin-exposure",
        severity: "error",
        message: `the ${release.service} ${suffix} API is exposed through ${exposure.through} in the ${release.tier} tier: anyone who reaches it can ${reach}`,
        fix: `keep service.${suffix}.type: ClusterIP (or an internal load balancer with service.beta.kubernetes.io/aws-load-balancer-scheme: internal) and ingress.${suffix}.enabled: false; reach it by port-forward or from inside the network`,
      });
    }
    checkIngressObjects(context, release, suffix, reach);
  }
}

/** Reports Ingress objects in git that route to the chart's private Service. */
function checkIngressObjects(
  context: OryContext,
  release: OryRelease,
  suffix: string,
  reach: string,
): void {
  const serviceName = `${fullname(release)}-${suffix}`;
  for (const object of context.objects) {
    if (
      kindOf(object.data) !== "Ingress" ||
      object.build.cluster !== release.object.build.cluster ||
      (namespaceOf(object.data) ?? "default") !== release.namespace
    )
      continue;
    for (const path of ingressBackends(object)) {
      const backend = getPath(object.data, ...path.map(String));
      const name =
        getPath(backend, "service", "name") ?? getPath(backend, "serviceName");
      if (name !== serviceName) continue;
      reportObject(context, object, path, {
        rule: "ory-admin-exposure",
        severity: "error",
        message: `this Ingress routes to Service ${serviceName}, the ${release.service} ${suffix} API, in the ${release.tier} tier: anyone who reaches it can ${reach}`,
        fix: `route the Ingress to ${fullname(release)}-public, or remove it; reach the ${suffix} API by port-forward or from inside the network`,
      });
    }
  }
}

/** Field paths of every backend of an Ingress: the default one and each rule path's. */
function ingressBackends(object: RenderedObject): FieldPath[] {
  const paths: FieldPath[] = [];
  const spec = getPath(object.data, "spec");
  // networking.k8s.io/v1 names it defaultBackend, v1beta1 backend.
  for (const key of ["defaultBackend", "backend"]) {
    if (isPlainObject(getPath(spec, key))) paths.push(["spec", key]);
  }
  const rules = getPath(spec, "rules");
  (Array.isArray(rules) ? rules : []).forEach((rule, ruleIndex) => {
    const httpPaths = getPath(rule, "http", "paths");
    (Array.isArray(httpPaths) ? httpPaths : []).forEach((_, pathIndex) => {
      paths.push([
        "spec",
        "rules",
        ruleIndex,
        "http",
        "paths",
        pathIndex,
        "backend",
      ]);
    });
  });
  return paths;
}

/** The chart's fullname: fullnameOverride, else the release name with the chart name appended unless it is already in it. */
export function fullname(release: OryRelease): string {
  const override = valueAt(release, "fullnameOverride");
  if (typeof override === "string" && override !== "") return override;
  const nameOverride = valueAt(release, "nameOverride");
  const name =
    typeof nameOverride === "string" && nameOverride !== ""
      ? nameOverride
      : release.service;
  return release.releaseName.includes(name)
    ? release.releaseName
    : `${release.releaseName}-${name}`;
}
