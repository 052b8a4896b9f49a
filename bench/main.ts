import os from "node:os";
import {
  parseCommandLine,
  loggerFromFlag,
  runCommand,
} from "../tools/lib/cli.js";
import { EXIT_OK, EXIT_PROBLEM, UsageError } from "../tools/lib/errors.js";
import type { Logger } from "../tools/lib/log.js";
import {
  DEFAULT_SEED,
  generateRepository,
  MIN_OBJECTS,
  removeRepository,
  type GeneratedRepository,
} from "./generate.js";
import { describeMachine } from "./machine.js";
import { benchSmoke } from "./smoke.js";
import {
  measureParseOnly,
  measureValidate,
  MemorySampler,
  type ParseSample,
  type ValidateSample,
} from "./measure.js";
import {
  formatText,
  judgeTargets,
  summarizeSize,
  type BenchReport,
  type SizeResult,
} from "./report.js";

const USAGE = `Usage: npm run bench -- [--sizes LIST] [--runs N] [--seed N] [--json] [--keep]

Generates synthetic Flux repositories, validates each one several times and
prints objects per second and the ratio of validate time to a js-yaml
parse-only pass over the same files. See docs/benchmarks.md.

  --sizes LIST   comma-separated object counts, each at least ${MIN_OBJECTS} (default: 100,1000,10000)
  --runs N       measured runs per size after one warm-up run (default: 5 below
                 1,000 objects, 3 below 10,000, else 2, to stay near 3 minutes)
  --seed N       seed of the repository generator (default: ${DEFAULT_SEED})
  --json         print the report as JSON instead of Markdown tables
  --keep         keep the generated repositories and log their paths
  --log-level L  debug, info, warn, error or silent (default: LOG_LEVEL, else info)

Exit codes: 0 measured, even when a target is missed; 1 the validator missed
a seeded mistake, reported another error or skipped objects; 2 usage problem.`;

interface BenchOptions {
  sizes: number[];
  /** Measured runs per size; undefined picks them by size. */
  runs: number | undefined;
  seed: number;
  keep: boolean;
}

await runCommand(async () => {
  const { values } = parseCommandLine(
    process.argv.slice(2),
    {
      sizes: { type: "string", default: "100,1000,10000" },
      runs: { type: "string" },
      seed: { type: "string", default: String(DEFAULT_SEED) },
      json: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    return EXIT_OK;
  }
  const log = loggerFromFlag(values["log-level"]);
  const options: BenchOptions = {
    sizes: parseSizes(values.sizes),
    runs:
      values.runs === undefined
        ? undefined
        : parseInteger("--runs", values.runs, 1),
    seed: parseInteger("--seed", values.seed, 0),
    keep: values.keep,
  };

  const machine = describeMachine();
  const failures = new Set<string>();
  const sizes: SizeResult[] = [];
  for (const [index, objects] of options.sizes.entries()) {
    const warmup = index === 0;
    sizes.push(await benchSize(objects, warmup, options, failures, log));
  }

  const report: BenchReport = {
    machine,
    loadAverageAtEnd: os.loadavg()[0] ?? 0,
    seed: options.seed,
    warmupRuns: 1,
    sizes,
    targets: judgeTargets(sizes),
    failures: [...failures],
  };
  // The smoke tests run their service chains in parallel; this measures
  // how well they overlap against stand-ins with a fixed latency.
  log.info("smoke: full run against stand-ins with 25 ms latency");
  const smoke = await benchSmoke({ latencyMs: 25, runs: 3 });
  const json = values.json || values.format === "json";
  process.stdout.write(
    json
      ? JSON.stringify({ ...report, smoke }, null, 2) + "\n"
      : formatText(report) + formatSmoke(smoke),
  );
  return failures.size > 0 ? EXIT_PROBLEM : EXIT_OK;
});

/**
 * Generates one repository, then alternates validate and parse-only runs
 * over it. The first size also gets an unmeasured warm-up run of each, so
 * module loading and JIT compilation stay out of the figures.
 */
async function benchSize(
  objects: number,
  warmup: boolean,
  options: BenchOptions,
  failures: Set<string>,
  log: Logger,
): Promise<SizeResult> {
  log.info(`${count(objects)} objects: generating the repository`);
  const repository = await generateRepository({ objects, seed: options.seed });
  try {
    if (warmup) {
      log.info(`${count(objects)} objects: warm-up run`);
      const sample = await measureValidate(repository);
      recordFailures(repository, sample, failures, log);
      measureParseOnly(repository.root);
    }

    const validateSamples: ValidateSample[] = [];
    const parseSamples: ParseSample[] = [];
    const memory = new MemorySampler();
    memory.start();
    const runs = options.runs ?? defaultRuns(objects);
    for (let run = 1; run <= runs; run++) {
      const sample = await measureValidate(repository);
      memory.sample();
      recordFailures(repository, sample, failures, log);
      validateSamples.push(sample);
      const parse = measureParseOnly(repository.root);
      parseSamples.push(parse);
      log.info(
        `${count(objects)} objects: run ${run}/${runs}: validate ${seconds(sample.elapsedMs)} (kustomize ${seconds(sample.kustomizeMs)}), parse-only ${seconds(parse.elapsedMs)}`,
      );
    }
    memory.stop();
    return summarizeSize(repository, validateSamples, parseSamples, memory);
  } finally {
    if (options.keep) log.info(`kept ${repository.root}`);
    else await removeRepository(repository.root);
  }
}

/** Adds a line for each way the run's result differs from what was seeded. */
function recordFailures(
  repository: GeneratedRepository,
  sample: ValidateSample,
  failures: Set<string>,
  log: Logger,
): void {
  const size = `${count(repository.objects)} objects`;
  const found: string[] = [];
  for (const mistake of sample.check.missed) {
    found.push(
      `${size}: seeded ${mistake.kind} mistake not reported (expected rule ${mistake.rule} at ${mistake.file}:${mistake.line}: ${mistake.description})`,
    );
  }
  for (const finding of sample.check.unexpected) {
    found.push(
      `${size}: unexpected error ${finding.rule} at ${finding.file}:${finding.line}: ${finding.message}`,
    );
  }
  if (sample.objects !== repository.objects) {
    found.push(
      `${size}: the validator rendered ${count(sample.objects)} objects, but the generator wrote ${count(repository.objects)}; keep the repository with --keep and compare`,
    );
  }
  if (sample.validated !== sample.objects) {
    found.push(
      `${size}: the validator schema-checked only ${count(sample.validated)} of ${count(sample.objects)} objects, so objects/s would count unchecked ones`,
    );
  }
  for (const failure of found) {
    if (!failures.has(failure)) log.error(failure);
    failures.add(failure);
  }
}

/**
 * Returns the measured runs for a size. A 10,000-object run took 40 to 65 s
 * on the two-core machine in docs/benchmarks.md, nearly all of it in
 * kustomize, so the largest size gets the fewest runs.
 */
function defaultRuns(objects: number): number {
  if (objects < 1_000) return 5;
  if (objects < 10_000) return 3;
  return 2;
}

function parseSizes(value: string | undefined): number[] {
  const sizes = String(value)
    .split(",")
    .map((part) => part.trim().replaceAll("_", ""));
  const parsed = sizes.map(Number);
  const invalid = sizes.filter(
    (_, index) =>
      !Number.isInteger(parsed[index]) || parsed[index]! < MIN_OBJECTS,
  );
  if (invalid.length > 0) {
    throw new UsageError(
      `--sizes: ${invalid.join(", ")} is not an integer of at least ${MIN_OBJECTS}; pass a list such as 100,1000,10000`,
    );
  }
  return [...new Set(parsed)].sort((a, b) => a - b);
}

function parseInteger(
  flag: string,
  value: string | undefined,
  minimum: number,
): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < minimum) {
    throw new UsageError(
      `${flag} ${value}: expected an integer of at least ${minimum}`,
    );
  }
  return parsed;
}

function count(value: number): string {
  return value.toLocaleString("en-US");
}

function seconds(milliseconds: number): string {
  return `${(milliseconds / 1000).toFixed(2)} s`;
}

function formatSmoke(smoke: {
  wallMs: number;
  slowestChainMs: number;
  ratio: number;
}): string {
  return [
    "",
    "## Smoke run overlap",
    "",
    "| wall ms | slowest service chain ms | ratio (target: close to 1, not the sum) |",
    "|---:|---:|---:|",
    `| ${smoke.wallMs.toFixed(0)} | ${smoke.slowestChainMs.toFixed(0)} | ${smoke.ratio.toFixed(2)} |`,
    "",
  ].join("\n");
}
