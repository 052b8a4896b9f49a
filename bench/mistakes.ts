import type { Finding } from "../tools/validate/findings.js";
import type { Candidates, PlannedFile } from "./layout.js";
import type { Manifest } from "./manifests.js";
import type { Random } from "./random.js";

export type MistakeKind =
  | "unknown-field"
  | "wrong-type"
  | "wrong-type-in-patch"
  | "missing-helm-repository"
  | "bad-interval"
  | "missing-dependency";

/** A mistake put into the repository on purpose, where the validator must report it. */
export interface SeededMistake {
  kind: MistakeKind;
  /** Rule id of the error finding the validator reports for it. */
  rule: string;
  file: string;
  /** 1-based line of the mistake in `file`. */
  line: number;
  description: string;
}

/** A seeded mistake before its file is written and its line is known. */
export interface PendingMistake extends Omit<SeededMistake, "line"> {
  plannedFile: PlannedFile;
  /** Start of the one trimmed line in the written file that contains the mistake. */
  marker: string;
}

export const MISTAKE_KINDS: MistakeKind[] = [
  "unknown-field",
  "wrong-type",
  "wrong-type-in-patch",
  "missing-helm-repository",
  "bad-interval",
  "missing-dependency",
];

/**
 * Puts `perKind` mistakes of every kind into distinct objects of the
 * layout, changing the planned manifests in place.
 */
export function seedMistakes(
  candidates: Candidates,
  perKind: number,
  random: Random,
): PendingMistake[] {
  const mistakes: PendingMistake[] = [];
  const used = new Set<Manifest>();
  const take = <T extends { manifest: Manifest }>(
    kind: MistakeKind,
    pool: T[],
  ): T[] => {
    const free = random.shuffle(
      pool.filter((item) => !used.has(item.manifest)),
    );
    if (free.length < perKind) {
      throw new Error(
        `cannot seed ${perKind} "${kind}" mistakes: the repository has only ${free.length} suitable objects; generate more objects`,
      );
    }
    const chosen = free.slice(0, perKind);
    for (const item of chosen) used.add(item.manifest);
    return chosen;
  };

  for (const { file, manifest } of take(
    "unknown-field",
    candidates.deployments,
  )) {
    const container = containersOf(manifest)[0]!;
    renameKey(container, "resources", "resource");
    mistakes.push({
      kind: "unknown-field",
      rule: "schema-unknown-field",
      plannedFile: file,
      file: file.path,
      marker: "resource:",
      description: "container field `resources` misspelled as `resource`",
    });
  }
  for (const { file, manifest } of take("wrong-type", candidates.services)) {
    const ports = (manifest.spec as Manifest).ports as Manifest[];
    ports[0]!.port = "http";
    mistakes.push({
      kind: "wrong-type",
      rule: "schema",
      plannedFile: file,
      file: file.path,
      marker: "port: http",
      description: "Service port given as a name instead of a number",
    });
  }
  for (const { file, manifest } of take(
    "wrong-type-in-patch",
    candidates.replicaPatches,
  )) {
    const spec = manifest.spec as Manifest;
    spec.replicas = String(spec.replicas);
    mistakes.push({
      kind: "wrong-type-in-patch",
      rule: "schema",
      plannedFile: file,
      file: file.path,
      marker: `replicas: "${spec.replicas}"`,
      description: "replica count quoted as a string in an overlay patch",
    });
  }
  for (const { file, manifest } of take(
    "missing-helm-repository",
    candidates.helmReleases,
  )) {
    const sourceRef = chartSourceRef(manifest);
    sourceRef.name = `${String(sourceRef.name)}-mirror`;
    mistakes.push({
      kind: "missing-helm-repository",
      rule: "reference-missing",
      plannedFile: file,
      file: file.path,
      marker: "sourceRef:",
      description: "chart sourceRef names a HelmRepository the cluster lacks",
    });
  }
  for (const { file, manifest } of take(
    "bad-interval",
    candidates.helmReleases,
  )) {
    (manifest.spec as Manifest).interval = "5 minutes";
    mistakes.push({
      kind: "bad-interval",
      rule: "flux-duration",
      plannedFile: file,
      file: file.path,
      marker: "interval: 5 minutes",
      description: "interval written as `5 minutes`, not a Go duration",
    });
  }
  for (const { file, manifest, overlay } of take(
    "missing-dependency",
    candidates.overlayKustomizations,
  )) {
    const spec = manifest.spec as Manifest;
    const missing = `${overlay}-database`;
    spec.dependsOn = [...(spec.dependsOn as Manifest[]), { name: missing }];
    mistakes.push({
      kind: "missing-dependency",
      rule: "reference-missing",
      plannedFile: file,
      file: file.path,
      marker: `- name: ${missing}`,
      description: "dependsOn names a Flux Kustomization that does not exist",
    });
  }
  return mistakes;
}

/**
 * Returns the 1-based line of the mistake's marker in the written text,
 * failing unless exactly one line starts with it.
 */
export function lineOfMarker(text: string, mistake: PendingMistake): number {
  const lines = text.split("\n");
  const matches = lines.flatMap((line, index) =>
    line.trimStart().startsWith(mistake.marker) ? [index + 1] : [],
  );
  if (matches.length !== 1) {
    throw new Error(
      `seeded ${mistake.kind} mistake: expected one line starting with "${mistake.marker}" in ${mistake.file}, found ${matches.length}`,
    );
  }
  return matches[0]!;
}

/** Result of matching the validator's error findings to the seeded mistakes. */
export interface MistakeCheck {
  found: number;
  missed: SeededMistake[];
  unexpected: Finding[];
}

/**
 * Matches error findings to seeded mistakes by rule and file. Any mistake
 * left unmatched was missed; any error left unmatched is unexpected, because
 * the rest of the repository is valid.
 */
export function checkMistakes(
  mistakes: SeededMistake[],
  findings: Finding[],
): MistakeCheck {
  const open = new Map<string, SeededMistake[]>();
  for (const mistake of mistakes) {
    const key = `${mistake.rule}\0${mistake.file}`;
    open.set(key, [...(open.get(key) ?? []), mistake]);
  }
  const unexpected: Finding[] = [];
  let found = 0;
  for (const finding of findings) {
    if (finding.severity !== "error") continue;
    const waiting = open.get(`${finding.rule}\0${finding.file}`);
    if (waiting && waiting.length > 0) {
      waiting.shift();
      found++;
    } else {
      unexpected.push(finding);
    }
  }
  return { found, missed: [...open.values()].flat(), unexpected };
}

function containersOf(workload: Manifest): Manifest[] {
  const template = (workload.spec as Manifest).template as Manifest;
  return (template.spec as Manifest).containers as Manifest[];
}

function chartSourceRef(release: Manifest): Manifest {
  const chart = (release.spec as Manifest).chart as Manifest;
  return (chart.spec as Manifest).sourceRef as Manifest;
}

/** Renames a key in place, keeping its position so the YAML reads naturally. */
function renameKey(object: Manifest, from: string, to: string): void {
  const entries = Object.entries(object);
  for (const key of Object.keys(object)) delete object[key];
  for (const [key, value] of entries) object[key === from ? to : key] = value;
}
