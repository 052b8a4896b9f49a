import type { GeneratedRepository } from "./generate.js";
import type { Machine } from "./machine.js";
import { median, type ParseSample, type ValidateSample } from "./measure.js";

/** Medians over the measured runs of one repository size. */
export interface SizeResult {
  objects: number;
  files: number;
  documents: number;
  bytes: number;
  clusters: number;
  overlays: number;
  /** Builds the validator ran, and how many of them ran kustomize. */
  builds: number;
  kustomizeBuilds: number;
  mistakes: number;
  runs: number;
  validateMs: number;
  kustomizeMs: number;
  exclusiveMs: number;
  /** Objects per second of validate time excluding kustomize. */
  objectsPerSecond: number;
  /** Validate time excluding kustomize, per object. */
  msPerObject: number;
  cpuMs: number;
  /** Objects per second of this process's CPU time, which overlapping kustomize runs cannot hide. */
  objectsPerCpuSecond: number;
  childCpuMs: number | null;
  parseOnlyMs: number;
  /** Validate time excluding kustomize over parse-only time. */
  ratio: number;
  peakRssBytes: number;
  peakHeapUsedBytes: number;
}

export interface TargetResult {
  name: string;
  limit: string;
  value: number | null;
  pass: boolean | null;
}

export interface BenchReport {
  machine: Machine;
  /** One-minute load average when the last run ended. */
  loadAverageAtEnd: number;
  seed: number;
  warmupRuns: number;
  sizes: SizeResult[];
  targets: TargetResult[];
  /** Seeded mistakes missed, unexpected errors and count mismatches. */
  failures: string[];
}

export function summarizeSize(
  repository: GeneratedRepository,
  validateSamples: ValidateSample[],
  parseSamples: ParseSample[],
  memory: { peakRssBytes: number; peakHeapUsedBytes: number },
): SizeResult {
  const pick = (read: (sample: ValidateSample) => number) =>
    median(validateSamples.map(read));
  const exclusiveMs = pick((sample) => sample.exclusiveMs);
  const cpuMs = pick((sample) => sample.cpuMs);
  const parseOnlyMs = median(parseSamples.map((sample) => sample.elapsedMs));
  const childCpu = validateSamples.map((sample) => sample.childCpuMs);
  return {
    objects: repository.objects,
    files: repository.files,
    documents: repository.documents,
    bytes: repository.bytes,
    clusters: repository.clusters,
    overlays: repository.overlays,
    builds: validateSamples[0]?.builds ?? 0,
    kustomizeBuilds: repository.kustomizeBuilds,
    mistakes: repository.mistakes.length,
    runs: validateSamples.length,
    validateMs: pick((sample) => sample.elapsedMs),
    kustomizeMs: pick((sample) => sample.kustomizeMs),
    exclusiveMs,
    objectsPerSecond: (repository.objects / exclusiveMs) * 1000,
    msPerObject: exclusiveMs / repository.objects,
    cpuMs,
    objectsPerCpuSecond: (repository.objects / cpuMs) * 1000,
    childCpuMs: childCpu.every((value) => value !== null)
      ? median(childCpu as number[])
      : null,
    parseOnlyMs,
    ratio: exclusiveMs / parseOnlyMs,
    peakRssBytes: memory.peakRssBytes,
    peakHeapUsedBytes: memory.peakHeapUsedBytes,
  };
}

/** Judges the three targets on the 10,000- and 1,000-object sizes. */
export function judgeTargets(sizes: SizeResult[]): TargetResult[] {
  const large = sizes.find((size) => size.objects === 10_000);
  const medium = sizes.find((size) => size.objects === 1_000);
  const costGrowth =
    large && medium ? large.msPerObject / medium.msPerObject : null;
  return [
    {
      name: "objects/s at 10,000, excluding kustomize",
      limit: ">= 10000",
      value: large?.objectsPerSecond ?? null,
      pass: large ? large.objectsPerSecond >= 10_000 : null,
    },
    {
      name: "validate excl. kustomize / parse-only at 10,000",
      limit: "<= 1.5",
      value: large?.ratio ?? null,
      pass: large ? large.ratio <= 1.5 : null,
    },
    {
      name: "cost per object, 10,000 / 1,000",
      limit: "<= 1.2",
      value: costGrowth,
      pass: costGrowth === null ? null : costGrowth <= 1.2,
    },
  ];
}

const COLUMNS: [string, (size: SizeResult) => string][] = [
  ["objects", (size) => integer(size.objects)],
  ["files", (size) => integer(size.files)],
  ["builds (kustomize)", (size) => `${size.builds} (${size.kustomizeBuilds})`],
  ["validate s", (size) => seconds(size.validateMs)],
  ["kustomize s", (size) => seconds(size.kustomizeMs)],
  ["excl. kustomize s", (size) => seconds(size.exclusiveMs)],
  ["objects/s", (size) => integer(size.objectsPerSecond)],
  ["node CPU s", (size) => seconds(size.cpuMs)],
  ["objects/CPU s", (size) => integer(size.objectsPerCpuSecond)],
  [
    "children CPU s",
    (size) => (size.childCpuMs === null ? "n/a" : seconds(size.childCpuMs)),
  ],
  ["parse-only s", (size) => seconds(size.parseOnlyMs)],
  ["ratio", (size) => size.ratio.toFixed(2)],
  ["µs/object", (size) => integer(size.msPerObject * 1000)],
  ["peak RSS MiB", (size) => integer(size.peakRssBytes / 1024 ** 2)],
  ["peak heap MiB", (size) => integer(size.peakHeapUsedBytes / 1024 ** 2)],
];

/** Formats the report as Markdown: machine, one table row per size, targets. */
export function formatText(report: BenchReport): string {
  const { machine } = report;
  const runs = report.sizes.map((size) => size.runs).join("/");
  const lines = [
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.platform}`,
    `kubectl: ${machine.kubectl ?? "not found"}`,
    `Load average (1 min): ${machine.loadAverage.toFixed(2)} at start, ${report.loadAverageAtEnd.toFixed(2)} at end`,
    `Runs per size: ${runs}, after ${report.warmupRuns} warm-up run; figures are medians; seed ${report.seed}`,
    "",
    `| ${COLUMNS.map(([title]) => title).join(" | ")} |`,
    `|${COLUMNS.map(() => "---:").join("|")}|`,
    ...report.sizes.map(
      (size) => `| ${COLUMNS.map(([, cell]) => cell(size)).join(" | ")} |`,
    ),
    "",
    "| target | limit | value | status |",
    "|---|---:|---:|---|",
    ...report.targets.map(
      (target) =>
        `| ${target.name} | ${target.limit} | ${formatValue(target.value)} | ${statusOf(target)} |`,
    ),
  ];
  if (report.failures.length > 0) {
    lines.push("", "Seeded-mistake check FAILED:");
    lines.push(...report.failures.map((failure) => `- ${failure}`));
  } else {
    const mistakes = report.sizes.map((size) => size.mistakes).join(", ");
    lines.push(
      "",
      `Seeded mistakes (${mistakes}) found in every run, with no other errors.`,
    );
  }
  return lines.join("\n") + "\n";
}

function formatValue(value: number | null): string {
  if (value === null) return "n/a";
  return value >= 100 ? integer(value) : value.toFixed(2);
}

function statusOf(target: TargetResult): string {
  if (target.pass === null) return "not measured";
  return target.pass ? "PASS" : "MISS";
}

function integer(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

function seconds(milliseconds: number): string {
  return (milliseconds / 1000).toFixed(3);
}
