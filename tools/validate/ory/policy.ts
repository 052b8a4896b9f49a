import type {
  Endpoint,
  EndpointName,
  OryService,
} from "../../lib/environment.js";
import { ENDPOINT_NAMES } from "../../lib/environment.js";
import {
  getPath,
  kindOf,
  nameOf,
  namespaceOf,
  type RenderedObject,
} from "../objects.js";
import { isPlainObject } from "../structural-schema.js";
import { chartSecretName } from "./database.js";
import { checkHardening, fullname, ZONE_KEY } from "./hardening.js";
import { compareVersions } from "./promotion.js";
import {
  environmentOfCluster,
  findSecret,
  reportObject,
  reportValue,
  valueAt,
  type HelmReleaseValues,
  type OryContext,
  type OryRelease,
} from "./releases.js";

const ENDPOINT_SERVICES: Record<
  EndpointName,
  { service: OryService; suffix: string }
> = {
  hydraPublic: { service: "hydra", suffix: "public" },
  hydraAdmin: { service: "hydra", suffix: "admin" },
  kratosPublic: { service: "kratos", suffix: "public" },
  kratosAdmin: { service: "kratos", suffix: "admin" },
  ketoRead: { service: "keto", suffix: "read" },
  ketoWrite: { service: "keto", suffix: "write" },
};

export function checkPolicyRules(context: OryContext): void {
  for (const release of context.releases) {
    checkMigrations(context, release);
    checkEndpoints(context, release);
    if (release.tier !== "dev") checkHardening(context, release);
  }
  for (const release of context.helmReleases) {
    if (release.chart?.names.includes("cockroachdb")) {
      checkCockroachRelease(context, release);
    }
  }
}

function checkEndpoints(context: OryContext, release: OryRelease): void {
  const environment = release.environment;
  if (!environment || release.object.build.cluster !== environment.clusters.ory)
    return;
  const file = `environments/${environment.name}/environment.yaml`;
  for (const name of ENDPOINT_NAMES) {
    const { service, suffix } = ENDPOINT_SERVICES[name];
    if (service !== release.service) continue;
    const endpoint: Endpoint = environment.ory.endpoints[name];
    const expectedName = `${fullname(release)}-${suffix}`;
    const port = valueAt(release, `service.${suffix}.port`);
    const problems: string[] = [];
    if (endpoint.service !== expectedName) {
      problems.push(
        `service "${endpoint.service}" but the chart creates "${expectedName}"`,
      );
    }
    if (typeof port === "number" && endpoint.port !== port) {
      problems.push(
        `port ${endpoint.port} but service.${suffix}.port is ${port}`,
      );
    } else if (port === undefined && !release.valuesIncomplete) {
      problems.push(
        `port ${endpoint.port} but service.${suffix}.port is not set, so the chart default applies`,
      );
    }
    if (problems.length === 0) continue;
    context.sink.add({
      rule: "ory-endpoint-service",
      severity: "error",
      ...context.locator.locateInFile(file, ["ory", "endpoints", name]),
      message: `endpoint ${name} names ${problems.join(", and ")}; smoke tests and port-forwards would reach nothing`,
      fix: `make ory.endpoints.${name} and the ${release.service} release's service.${suffix} values agree`,
    });
  }
}

function checkMigrations(context: OryContext, release: OryRelease): void {
  const path = `${release.service}.automigration.enabled`;
  if (valueAt(release, path) !== true && !release.valuesIncomplete) {
    reportValue(context, release, `${release.service}.automigration`, {
      rule: "ory-automigration",
      severity: "error",
      message: `${path} is not true: an upgrade starts the new ${release.service} version on the old database schema`,
      fix: `set ${path}: true (type: job) so each upgrade migrates first`,
    });
    return;
  }
  const backoff = valueAt(release, "job.spec.backoffLimit");
  if (typeof backoff === "number" && backoff < 1) {
    reportValue(context, release, "job.spec.backoffLimit", {
      rule: "ory-migration-retries",
      severity: "error",
      message: `job.spec.backoffLimit is ${backoff}: the migration Job gives up on its first failure, and CockroachDB runs in another cluster that Flux cannot wait for`,
      fix: "set job.spec.backoffLimit to 5 or more so the Job retries until the database answers",
    });
  }
  checkWaitsForSecrets(context, release);
}

/**
 * A Secret that a Flux Kustomization delivers must be applied before the
 * release migrates, so the release's Kustomization depends on that one.
 * Secrets the environment model declares exist before Flux starts.
 */
function checkWaitsForSecrets(context: OryContext, release: OryRelease): void {
  const names = new Set<string>();
  const secretName = chartSecretName(release);
  if (secretName) names.add(secretName);
  const ca = release.environment?.cockroachdb.tls.caSecret?.name;
  if (ca) names.add(ca);
  for (const name of names) {
    const secret = findSecret(context, release, name);
    const delivering = secret?.object?.build;
    if (!delivering || delivering.id === release.object.build.id) continue;
    const kustomization = findKustomization(
      context.objects,
      release.object.build.id,
      release.object.build.cluster,
    );
    if (!kustomization) continue;
    const dependsOn = getPath(kustomization.data, "spec", "dependsOn");
    const waits =
      Array.isArray(dependsOn) &&
      dependsOn.some(
        (entry) =>
          isPlainObject(entry) &&
          `${entry.namespace ?? namespaceOf(kustomization.data) ?? "default"}/${String(entry.name)}` ===
            delivering.id,
      );
    if (waits) continue;
    reportObject(context, kustomization, ["spec"], {
      rule: "ory-migration-order",
      severity: "error",
      message: `Flux Kustomization ${release.object.build.id} installs ${release.service}, whose migration reads Secret ${name}, but it does not depend on ${delivering.id}, which applies that Secret`,
      fix: `add dependsOn: [{name: ${delivering.id.split("/")[1]}}] so the Secret exists before the migration Job starts`,
    });
  }
}

function findKustomization(
  objects: RenderedObject[],
  id: string,
  cluster: string,
): RenderedObject | undefined {
  return objects.find(
    (object) =>
      object.build.cluster === cluster &&
      kindOf(object.data) === "Kustomization" &&
      `${namespaceOf(object.data) ?? "default"}/${nameOf(object.data)}` === id,
  );
}

function checkCockroachRelease(
  context: OryContext,
  release: HelmReleaseValues,
): void {
  const environment = environmentOfCluster(
    context.environments,
    release.object.build.cluster,
  );
  checkCockroachChartVersion(context, release);
  const tier = environment?.tier ?? "production";
  if (tier === "dev") return;
  const at = (path: string) => valueAt(release, path);
  const report = (path: string, message: string, fix: string) =>
    reportValue(context, release, path, {
      rule: "crdb-chart",
      severity: "error",
      message,
      fix,
    });

  if (at("statefulset.replicas") !== 3) {
    report(
      "statefulset.replicas",
      `statefulset.replicas is ${String(at("statefulset.replicas") ?? "unset")} in the ${tier} tier; one node per zone needs exactly 3`,
      "set statefulset.replicas: 3",
    );
  }
  if (at("tls.enabled") !== true) {
    report(
      "tls.enabled",
      `tls.enabled is not true in the ${tier} tier: an insecure cluster accepts any client and cannot hold passwords`,
      "set tls.enabled: true",
    );
  }
  if (at("statefulset.budget.maxUnavailable") !== 1) {
    report(
      "statefulset.budget",
      "statefulset.budget.maxUnavailable is not 1: a drain could take two of three nodes and lose quorum",
      "set statefulset.budget.maxUnavailable: 1",
    );
  }
  const spread = at("statefulset.topologySpreadConstraints");
  if (Array.isArray(spread)) {
    report(
      "statefulset.topologySpreadConstraints",
      "statefulset.topologySpreadConstraints is a list, but the CockroachDB chart's template reads one object, so the pods are not spread over zones",
      `write it as one mapping with topologyKey: ${ZONE_KEY}`,
    );
  } else if (!isPlainObject(spread) || spread.topologyKey !== ZONE_KEY) {
    report(
      "statefulset",
      `statefulset.topologySpreadConstraints does not spread over ${ZONE_KEY}: two replicas can share a zone and one zone outage loses quorum`,
      `set statefulset.topologySpreadConstraints: {maxSkew: 1, topologyKey: ${ZONE_KEY}, whenUnsatisfiable: DoNotSchedule}`,
    );
  }
  const locality = at("conf.locality");
  if (
    typeof locality === "string" &&
    /(^|,)\s*(zone|az|availability-zone)=/.test(locality)
  ) {
    report(
      "conf.locality",
      `conf.locality "${locality}" names a zone, but the chart passes one value to every pod, so all three claim the same zone and CockroachDB cannot spread replicas`,
      "keep conf.locality at region level, e.g. region=us-east-1",
    );
  }
  const host = environment?.cockroachdb.host;
  const sans = at("tls.certs.selfSigner.additionalSANs");
  if (host && !(Array.isArray(sans) && sans.includes(host))) {
    report(
      "tls.certs",
      `the node certificate's extra SANs do not include ${host}, so clients using sslmode=verify-full through the load balancer reject the certificate`,
      `add ${host} to tls.certs.selfSigner.additionalSANs`,
    );
  }
}

/** First CockroachDB chart release that reads tls.certs.selfSigner.additionalSANs. */
const ADDITIONAL_SANS_SINCE = "20.0.5";

/**
 * Reports extra SANs on a chart pinned below the release that added them:
 * older charts ignore the key, so the node certificate lacks the stable DNS
 * name and verify-full connections through the load balancer fail.
 */
function checkCockroachChartVersion(
  context: OryContext,
  release: HelmReleaseValues,
): void {
  const sans = valueAt(release, "tls.certs.selfSigner.additionalSANs");
  const chart = release.chart;
  const version = chart?.version;
  if (!chart || !Array.isArray(sans) || sans.length === 0) return;
  // A range or a digest is not compared; the chart resolves it later.
  if (version === undefined || !/^v?\d+\.\d+\.\d+$/.test(version)) return;
  if (compareVersions(version.replace(/^v/, ""), ADDITIONAL_SANS_SINCE) >= 0)
    return;
  reportObject(context, chart.object, chart.versionPath, {
    rule: "crdb-chart",
    severity: "error",
    message: `CockroachDB chart ${version} ignores tls.certs.selfSigner.additionalSANs, which the chart reads from ${ADDITIONAL_SANS_SINCE} on, so the node certificate lacks ${sans.join(", ")}`,
    fix: `pin chart version ${ADDITIONAL_SANS_SINCE} or later`,
  });
}
