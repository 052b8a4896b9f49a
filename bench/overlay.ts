import type { Layout } from "./layout.js";
import {
  CHART_SOURCES,
  configMap,
  deployment,
  helmRelease,
  kustomizeConfig,
  podDisruptionBudget,
  service,
  serviceAccount,
  valuesConfigMap,
  type Manifest,
} from "./manifests.js";
import type { Random } from "./random.js";

const APP_WORDS = [
  "api",
  "worker",
  "web",
  "gateway",
  "scheduler",
  "indexer",
  "cache",
  "exporter",
  "sync",
  "frontend",
  "queue",
  "cron",
  "proxy",
  "router",
  "store",
  "mailer",
];

/**
 * Adds one overlay of `size` objects to the layout: bases under
 * apps/<cluster>/<team>/, each listed by the overlay, and the patches the
 * overlay applies to them.
 */
export function planOverlay(
  layout: Layout,
  cluster: string,
  team: string,
  size: number,
  random: Random,
): void {
  const overlayDirectory = `environments/${cluster}/${team}`;
  const appNames = new Set<string>();
  const bases: string[] = [];
  const deployments: Manifest[] = [];
  const releases: Manifest[] = [];
  let remaining = size;

  while (remaining > 0) {
    const app = appName(team, appNames);
    const directory = `apps/${cluster}/${team}/${app}`;
    const files: { name: string; manifest: Manifest }[] = [];
    if (random.chance(0.25)) {
      const count = Math.min(remaining, random.chance(0.5) ? 2 : 1);
      files.push(...helmApp(app, team, count, random));
      releases.push(files[0]!.manifest);
    } else {
      const count = Math.min(remaining, 5);
      files.push(...serviceApp(app, team, count, random));
      deployments.push(files[0]!.manifest);
    }
    remaining -= files.length;

    for (const { name, manifest } of files) {
      const file = { path: `${directory}/${name}`, documents: [manifest] };
      layout.files.push(file);
      const kind = manifest.kind;
      if (kind === "Deployment")
        layout.candidates.deployments.push({ file, manifest });
      if (kind === "Service")
        layout.candidates.services.push({ file, manifest });
      if (kind === "HelmRelease")
        layout.candidates.helmReleases.push({ file, manifest });
    }
    layout.files.push({
      path: `${directory}/kustomization.yaml`,
      documents: [kustomizeConfig(files.map((file) => file.name))],
    });
    bases.push(`../../../apps/${cluster}/${team}/${app}`);
  }

  const patches = planPatches(deployments, releases, random);
  for (const [name, documents] of patches) {
    const file = { path: `${overlayDirectory}/${name}`, documents };
    layout.files.push(file);
    if (name === "replicas.yaml") {
      for (const manifest of documents)
        layout.candidates.replicaPatches.push({ file, manifest });
    }
  }
  layout.files.push({
    path: `${overlayDirectory}/kustomization.yaml`,
    documents: [kustomizeConfig(bases, [...patches.keys()])],
  });
}

/** Builds a Deployment and, by size, its Service, ConfigMap, ServiceAccount and PodDisruptionBudget. */
function serviceApp(
  app: string,
  team: string,
  count: number,
  random: Random,
): { name: string; manifest: Manifest }[] {
  const workload = deployment({
    app,
    team,
    image: `registry.example.com/${team}/${app}:1.${random.integer(0, 30)}.${random.integer(0, 9)}`,
    replicas: random.integer(1, 3),
    configMap: count >= 3,
    serviceAccount: count >= 4,
  });
  const files = [
    { name: "deployment.yaml", manifest: workload },
    { name: "service.yaml", manifest: service(app, team) },
    { name: "configmap.yaml", manifest: configMap(app, team) },
    { name: "serviceaccount.yaml", manifest: serviceAccount(app, team) },
    { name: "pdb.yaml", manifest: podDisruptionBudget(app, team) },
  ];
  return files.slice(0, count);
}

/** Builds a HelmRelease and, when `count` is 2, the ConfigMap it reads values from. */
function helmApp(
  app: string,
  team: string,
  count: number,
  random: Random,
): { name: string; manifest: Manifest }[] {
  const source = random.pick(CHART_SOURCES);
  const chart = random.pick(source.charts);
  const valuesName = `${app}-values`;
  const release = helmRelease({
    app,
    team,
    source,
    chart,
    ...(count === 2 ? { valuesConfigMap: valuesName } : {}),
  });
  const files = [{ name: "helmrelease.yaml", manifest: release }];
  if (count === 2) {
    files.push({
      name: "values-configmap.yaml",
      manifest: valuesConfigMap(valuesName, team),
    });
  }
  return files;
}

/**
 * Plans the strategic merge patches of an overlay, by file name: replica counts and
 * image tags of some Deployments, and values of most HelmReleases.
 */
function planPatches(
  deployments: Manifest[],
  releases: Manifest[],
  random: Random,
): Map<string, Manifest[]> {
  const patches = new Map<string, Manifest[]>();
  const replicas = atLeastOne(deployments, 0.5, random).map((workload) =>
    patchOf(workload, { replicas: random.integer(2, 6) }),
  );
  const images = atLeastOne(deployments, 0.3, random).map((workload) => {
    const name = String((workload.metadata as Manifest).name);
    const image = `registry.example.com/${name}:2.${random.integer(0, 9)}.0`;
    return patchOf(workload, {
      template: { spec: { containers: [{ name, image }] } },
    });
  });
  const values = atLeastOne(releases, 0.7, random).map((release) =>
    patchOf(release, {
      values: {
        replicaCount: random.integer(1, 4),
        metrics: { enabled: true },
      },
    }),
  );
  if (replicas.length > 0) patches.set("replicas.yaml", replicas);
  if (images.length > 0) patches.set("images.yaml", images);
  if (values.length > 0) patches.set("values.yaml", values);
  return patches;
}

function patchOf(target: Manifest, spec: Manifest): Manifest {
  const metadata = target.metadata as Manifest;
  return {
    apiVersion: target.apiVersion,
    kind: target.kind,
    metadata: { name: metadata.name, namespace: metadata.namespace },
    spec,
  };
}

/** Picks each item with the given probability, but at least one of a non-empty list. */
function atLeastOne<T>(items: T[], probability: number, random: Random): T[] {
  const chosen = items.filter(() => random.chance(probability));
  if (chosen.length === 0 && items.length > 0) chosen.push(random.pick(items));
  return chosen;
}

function appName(team: string, taken: Set<string>): string {
  for (let round = 1; ; round++) {
    for (const word of APP_WORDS) {
      const name = round === 1 ? `${team}-${word}` : `${team}-${word}-${round}`;
      if (taken.has(name)) continue;
      taken.add(name);
      return name;
    }
  }
}
