import { readdirSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import path from "node:path";
import yaml from "js-yaml";
import { validate } from "../tools/validate/validate.js";
import type { GeneratedRepository } from "./generate.js";
import { checkMistakes, type MistakeCheck } from "./mistakes.js";

/** One timed validate run over a generated repository. */
export interface ValidateSample {
  /** summary.elapsedMs: wall time of the whole validate call. */
  elapsedMs: number;
  /** summary.kustomizeMs: wall time during which a kustomize child ran. */
  kustomizeMs: number;
  /** elapsedMs minus kustomizeMs. */
  exclusiveMs: number;
  /** CPU time of this Node process (all its threads) during the call. */
  cpuMs: number;
  /** CPU time of the children that exited during the call, when known. */
  childCpuMs: number | null;
  objects: number;
  validated: number;
  builds: number;
  check: MistakeCheck;
}

/** One timed parse-only pass: list, read and js-yaml load every YAML file. */
export interface ParseSample {
  elapsedMs: number;
  files: number;
  documents: number;
}

export async function measureValidate(
  repository: GeneratedRepository,
): Promise<ValidateSample> {
  const childCpuBefore = readChildCpuMs();
  const cpuBefore = process.cpuUsage();
  const result = await validate({ root: repository.root });
  const cpu = process.cpuUsage(cpuBefore);
  const childCpuAfter = readChildCpuMs();
  const { summary } = result;
  return {
    elapsedMs: summary.elapsedMs,
    kustomizeMs: summary.kustomizeMs,
    exclusiveMs: summary.elapsedMs - summary.kustomizeMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    childCpuMs:
      childCpuBefore === null || childCpuAfter === null
        ? null
        : childCpuAfter - childCpuBefore,
    objects: summary.objects,
    validated: summary.validated,
    builds: summary.builds,
    check: checkMistakes(repository.mistakes, result.findings),
  };
}

/**
 * Times the floor a validator cannot go below: finds every YAML file, reads
 * it and parses all its documents with js-yaml's default schema,
 * synchronously and keeping nothing.
 */
export function measureParseOnly(root: string): ParseSample {
  const started = performance.now();
  const files = (readdirSync(root, { recursive: true }) as string[]).filter(
    (file) => /\.ya?ml$/i.test(file),
  );
  let documents = 0;
  for (const file of files) {
    const text = readFileSync(path.join(root, file), "utf8");
    documents += yaml.loadAll(text).length;
  }
  return {
    elapsedMs: performance.now() - started,
    files: files.length,
    documents,
  };
}

/**
 * Samples resident memory and used heap every 20 ms while started. A long
 * synchronous stretch delays the timer, so callers also call `sample()`
 * right after each run; the peak is still a lower bound.
 */
export class MemorySampler {
  peakRssBytes = 0;
  peakHeapUsedBytes = 0;
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), 20);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  sample(): void {
    const usage = process.memoryUsage();
    this.peakRssBytes = Math.max(this.peakRssBytes, usage.rss);
    this.peakHeapUsedBytes = Math.max(this.peakHeapUsedBytes, usage.heapUsed);
  }
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[middle]!
    : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

let clockTicksPerSecond: number | undefined;

/**
 * User plus system CPU time of this process's waited-for children (the
 * kustomize builds), from fields 16 and 17 of /proc/self/stat. Returns null
 * where /proc is missing, as on macOS.
 */
function readChildCpuMs(): number | null {
  let stat: string;
  try {
    stat = readFileSync("/proc/self/stat", "utf8");
  } catch {
    return null;
  }
  // Fields after the command name, which is in brackets and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[13]) + Number(fields[14]);
  clockTicksPerSecond ??= readClockTicks();
  return (ticks / clockTicksPerSecond) * 1000;
}

function readClockTicks(): number {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }));
  } catch {
    // Fall back to USER_HZ 100, the value on common Linux builds.
    return 100;
  }
}
