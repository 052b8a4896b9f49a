import {
  CHART_SOURCES,
  fluxKustomization,
  gitRepository,
  helmRepository,
  kustomizeConfig,
  namespace,
  type Manifest,
} from "./manifests.js";
import { planOverlay } from "./overlay.js";
import type { Random } from "./random.js";

/** One file of the synthetic repository, before it is written. */
export interface PlannedFile {
  path: string;
  documents: Manifest[];
}

/** Objects a seeded mistake can be put in, with the file that contains each. */
export interface Candidates {
  deployments: { file: PlannedFile; manifest: Manifest }[];
  services: { file: PlannedFile; manifest: Manifest }[];
  helmReleases: { file: PlannedFile; manifest: Manifest }[];
  replicaPatches: { file: PlannedFile; manifest: Manifest }[];
  overlayKustomizations: {
    file: PlannedFile;
    manifest: Manifest;
    overlay: string;
  }[];
}

export interface Layout {
  files: PlannedFile[];
  /** Objects the validator renders: every object counted once per build. */
  objects: number;
  clusters: number;
  overlays: number;
  candidates: Candidates;
}

/** One cluster per this many objects, so each contains about ten overlays. */
const OBJECTS_PER_CLUSTER = 800;
const MEAN_OVERLAY_OBJECTS = 75;
const MAX_OVERLAY_OBJECTS = 100;
const MIN_OVERLAY_OBJECTS = 20;
/** GitRepository, two Flux Kustomizations and the HelmRepositories. */
const CLUSTER_OBJECTS = 3 + CHART_SOURCES.length;
const ENVIRONMENTS = ["dev", "staging", "production"];
const TEAMS = [
  "payments",
  "search",
  "checkout",
  "catalog",
  "identity",
  "billing",
  "ledger",
  "notifications",
  "reporting",
  "media",
  "inventory",
  "shipping",
  "pricing",
  "reviews",
  "accounts",
  "analytics",
];

/**
 * Lays out a Flux repository that renders exactly `objects` objects:
 * clusters/<cluster>/ entry folders, a plain infrastructure folder per
 * cluster, and overlays of at most 100 objects that list their own bases and
 * patch them. No base is shared between overlays, so each object in the
 * files is rendered once.
 */
export function planLayout(objects: number, random: Random): Layout {
  const layout: Layout = {
    files: [],
    objects: 0,
    clusters: 0,
    overlays: 0,
    candidates: {
      deployments: [],
      services: [],
      helmReleases: [],
      replicaPatches: [],
      overlayKustomizations: [],
    },
  };
  const clusterCount = Math.max(1, Math.ceil(objects / OBJECTS_PER_CLUSTER));
  const budgets = splitEvenly(objects, clusterCount);
  budgets.forEach((budget, index) => {
    const environment = ENVIRONMENTS[index % ENVIRONMENTS.length] ?? "dev";
    const name = `${environment}-${String(index + 1).padStart(2, "0")}`;
    planCluster(layout, name, environment, budget, random);
  });
  return layout;
}

function planCluster(
  layout: Layout,
  cluster: string,
  environment: string,
  budget: number,
  random: Random,
): void {
  // Each overlay adds its Flux Kustomization and its Namespace.
  const appBudget = budget - CLUSTER_OBJECTS;
  const overlayCount = Math.max(
    1,
    Math.ceil(appBudget / (MEAN_OVERLAY_OBJECTS + 2)),
  );
  const sizes = jitter(
    splitEvenly(appBudget - 2 * overlayCount, overlayCount),
    random,
  );
  const teams = sizes.map((_, index) => teamName(index));
  const add = (path: string, documents: Manifest[]) => {
    const file = { path, documents };
    layout.files.push(file);
    return file;
  };

  add(`clusters/${cluster}/flux-system/gotk-sync.yaml`, [
    gitRepository(),
    fluxKustomization({
      name: "flux-system",
      path: `./clusters/${cluster}`,
    }),
  ]);
  add(`clusters/${cluster}/flux-system/kustomization.yaml`, [
    kustomizeConfig(["gotk-sync.yaml"]),
  ]);
  add(`clusters/${cluster}/kustomization.yaml`, [
    kustomizeConfig(["flux-system", "infrastructure.yaml", "apps.yaml"]),
  ]);
  add(`clusters/${cluster}/infrastructure.yaml`, [
    fluxKustomization({
      name: "infrastructure",
      path: `./infrastructure/${cluster}`,
    }),
  ]);
  const overlayKustomizations = teams.map((team) =>
    fluxKustomization({
      name: team,
      path: `./environments/${cluster}/${team}`,
      dependsOn: ["infrastructure"],
      variables: { cluster_name: cluster, environment },
    }),
  );
  const appsFile = add(`clusters/${cluster}/apps.yaml`, overlayKustomizations);
  overlayKustomizations.forEach((manifest, index) =>
    layout.candidates.overlayKustomizations.push({
      file: appsFile,
      manifest,
      overlay: teams[index] ?? "",
    }),
  );

  // Flux reads this folder without a kustomization.yaml, as plain files.
  add(`infrastructure/${cluster}/namespaces.yaml`, teams.map(namespace));
  add(
    `infrastructure/${cluster}/helm-repositories.yaml`,
    CHART_SOURCES.map(helmRepository),
  );

  sizes.forEach((size, index) =>
    planOverlay(layout, cluster, teams[index] ?? "", size, random),
  );
  layout.objects += budget;
  layout.clusters += 1;
  layout.overlays += sizes.length;
}

function teamName(index: number): string {
  const base = TEAMS[index % TEAMS.length] ?? "team";
  const round = Math.floor(index / TEAMS.length);
  return round === 0 ? base : `${base}-${round + 1}`;
}

/** Splits `total` into `parts` integers that differ by at most one. */
function splitEvenly(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  const extra = total % parts;
  return Array.from({ length: parts }, (_, index) =>
    index < extra ? base + 1 : base,
  );
}

/** Moves objects between neighbouring overlays, keeping each within bounds. */
function jitter(sizes: number[], random: Random): number[] {
  const result = [...sizes];
  for (let index = 0; index + 1 < result.length; index++) {
    const from = result[index]!;
    const to = result[index + 1]!;
    const limit = Math.min(
      20,
      from - MIN_OVERLAY_OBJECTS,
      MAX_OVERLAY_OBJECTS - to,
    );
    if (limit <= 0) continue;
    const moved = random.integer(0, limit);
    result[index] = from - moved;
    result[index + 1] = to + moved;
  }
  return result;
}
