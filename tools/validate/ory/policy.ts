import type {
  Endpoint,
  EndpointName,
  Environment,
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
import {
  environmentOfCluster,
  findSecret,
  reportObject,
  reportValue,
  valueAt,
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

/** Services that must never face the internet. */
const PRIVATE_SERVICES: Record<OryService, string[]> = {
  hydra: ["admin"],
  kratos: ["admin"],
  keto: ["read", "write"],
};

const ZONE_KEY = "topology.kubernetes.io/zone";

export function checkPolicyRules(context: OryContext): void {
  for (const release of context.releases) {
    checkMigrations(context, release);
    checkEndpoints(context, release);
    if (release.tier !== "dev") checkHardening(context, release);
  }
  for (const object of context.objects) {
    if (
      kindOf(object.data) === "HelmRelease" &&
      getPath(object.data, "spec", "chart", "spec", "chart") === "cockroachdb"
    ) {
      checkCockroachRelease(context, object);
    }
  }
  checkPromotionOrder(context);
}

/** The chart's fullname: fullnameOverride, else the release name with the chart name appended unless it is already in it. */
function fullname(release: OryRelease): string {
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

function checkHardening(context: OryContext, release: OryRelease): void {
  const tier = release.tier;
  const tag = valueAt(release, "image.tag");
  const repository = valueAt(release, "image.repository");
  const pinnedByDigest =
    typeof repository === "string" && repository.includes("@sha256:");
  if (
    !pinnedByDigest &&
    (typeof tag !== "string" || tag === "" || tag === "latest")
  ) {
    reportValue(context, release, "image", {
      rule: "ory-image-pinned",
      severity: "error",
      message: `${release.service} runs image tag ${typeof tag === "string" && tag !== "" ? `"${tag}"` : "from the chart default"} in the ${tier} tier: what runs can change without a commit`,
      fix: "set image.tag to a release such as v26.2.0, or a digest, in the environment's versions.yaml",
    });
  }
  const version = getPath(
    release.object.data,
    "spec",
    "chart",
    "spec",
    "version",
  );
  if (
    typeof version !== "string" ||
    !/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(version)
  ) {
    reportObject(
      context,
      release.object,
      [
        "spec",
        "chart",
        "spec",
        typeof version === "string" ? "version" : "chart",
      ],
      {
        rule: "ory-chart-version-exact",
        severity: "error",
        message: `chart version ${typeof version === "string" ? `"${version}" is a range` : "is not set"} in the ${tier} tier: helm-controller upgrades whenever a matching chart appears`,
        fix: "pin spec.chart.spec.version to one exact version, e.g. 0.62.1",
      },
    );
  }
  const replicas = valueAt(release, "replicaCount");
  const autoscaling =
    valueAt(release, "deployment.autoscaling.enabled") === true;
  const minReplicas = valueAt(release, "deployment.autoscaling.minReplicas");
  const effective = autoscaling ? minReplicas : replicas;
  if (typeof effective !== "number" || effective < 3) {
    reportValue(
      context,
      release,
      autoscaling ? "deployment.autoscaling.minReplicas" : "replicaCount",
      {
        rule: "ory-replicas",
        severity: "error",
        message: `${release.service} runs ${typeof effective === "number" ? effective : "the chart's default of 1"} replica(s) in the ${tier} tier: losing one zone or node takes it down`,
        fix: "set replicaCount: 3 (one per zone)",
      },
    );
  }
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
  for (const suffix of PRIVATE_SERVICES[release.service]) {
    const type = valueAt(release, `service.${suffix}.type`);
    const scheme = valueAt(release, `service.${suffix}.annotations`);
    const internal =
      isPlainObject(scheme) && Object.values(scheme).includes("internal");
    const ingress = valueAt(release, `ingress.${suffix}.enabled`) === true;
    if ((type === "LoadBalancer" && !internal) || ingress) {
      reportValue(
        context,
        release,
        ingress ? `ingress.${suffix}` : `service.${suffix}.type`,
        {
          rule: "ory-admin-exposure",
          severity: "error",
          message: `the ${release.service} ${suffix} API is exposed through ${ingress ? "an Ingress" : "an internet-facing load balancer"} in the ${tier} tier: anyone who reaches it can ${release.service === "keto" ? "grant any permission" : "create clients and identities"}`,
          fix: `keep service.${suffix}.type: ClusterIP and ingress.${suffix}.enabled: false; reach it by port-forward or from inside the network`,
        },
      );
    }
  }
}

function checkCockroachRelease(
  context: OryContext,
  object: RenderedObject,
): void {
  const environment = environmentOfCluster(
    context.environments,
    object.build.cluster,
  );
  const tier = environment?.tier ?? "production";
  if (tier === "dev") return;
  const values = getPath(object.data, "spec", "values");
  const at = (path: string) => getPath(values, ...path.split("."));
  const report = (path: string, message: string, fix: string) =>
    reportObject(context, object, ["spec", "values", ...path.split(".")], {
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

function versionsOf(
  environment: Environment,
  context: OryContext,
): Map<string, { chart?: string; image?: string; release: OryRelease }> {
  const versions = new Map<
    string,
    { chart?: string; image?: string; release: OryRelease }
  >();
  for (const release of context.releases) {
    if (release.environment?.name !== environment.name) continue;
    const chart = getPath(
      release.object.data,
      "spec",
      "chart",
      "spec",
      "version",
    );
    const image = valueAt(release, "image.tag");
    versions.set(release.service, {
      ...(typeof chart === "string" ? { chart } : {}),
      ...(typeof image === "string" ? { image } : {}),
      release,
    });
  }
  return versions;
}

/** Production never runs a chart or image newer than the environment before it. */
function checkPromotionOrder(context: OryContext): void {
  const byName = new Map(
    context.environments.map((environment) => [environment.name, environment]),
  );
  for (const source of context.environments) {
    const target = source.promotesTo
      ? byName.get(source.promotesTo)
      : undefined;
    if (!target) continue;
    const before = versionsOf(source, context);
    for (const [service, after] of versionsOf(target, context)) {
      const earlier = before.get(service);
      if (!earlier) continue;
      for (const what of ["chart", "image"] as const) {
        const newer = after[what];
        const older = earlier[what];
        // Ranges and tags such as "latest" have no order; other rules report them.
        if (
          !newer ||
          !older ||
          !isPlainVersion(newer) ||
          !isPlainVersion(older)
        )
          continue;
        if (compareVersions(newer, older) <= 0) continue;
        const path =
          what === "chart"
            ? ["spec", "chart", "spec", "version"]
            : ["spec", "values", "image", "tag"];
        reportObject(context, after.release.object, path, {
          rule: "ory-promotion-order",
          severity: "error",
          message: `${target.name} runs ${service} ${what} ${newer}, newer than ${older} in ${source.name}, which promotes to it: this version skipped testing there`,
          fix: `bump ${source.name} first and promote it with \`npm run promote -- ${source.name} ${target.name}\``,
        });
      }
    }
  }
}

function isPlainVersion(value: string): boolean {
  return /^v?\d+(\.\d+)*(-[0-9A-Za-z.-]+)?$/.test(value);
}

/** Compares dotted numeric versions with an optional leading v; non-numeric parts compare as text. */
export function compareVersions(a: string, b: string): number {
  const parts = (value: string) => value.replace(/^v/, "").split(/[.+-]/);
  const left = parts(a);
  const right = parts(b);
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const x = left[index] ?? "0";
    const y = right[index] ?? "0";
    const numeric = /^\d+$/.test(x) && /^\d+$/.test(y);
    const order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
    if (order !== 0) return Math.sign(order);
  }
  return 0;
}
