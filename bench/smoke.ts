import { EventEmitter } from "node:events";
import { rm } from "node:fs/promises";
import { createLogger } from "../tools/lib/log.js";
import { main } from "../tools/smoke/command.js";
import { makeRepository } from "../tests/smoke/helpers.js";
import { startOryStandIns } from "../tests/smoke/stand-ins/ory.js";

export interface SmokeBenchOptions {
  /** Delay in ms the stand-ins add to every response (default 25). */
  latencyMs?: number;
  /** Measured runs of each kind; the median counts (default 3). */
  runs?: number;
}

export interface SmokeBenchResult {
  /** Median wall time in ms of a run of Hydra, Kratos and Keto together. */
  wallMs: number;
  /** Median wall time in ms of the slowest service run alone. */
  slowestChainMs: number;
  /** wallMs / slowestChainMs: near 1 when the services overlap, near 3 when they add up. */
  ratio: number;
}

const SERVICES = ["hydra", "kratos", "keto"] as const;

/**
 * Measures how far the services of a smoke run overlap. Runs the command
 * in this process against Ory stand-ins that delay every response by a fixed
 * latency, once with all three services and once per service, without SQL.
 * Cleanup runs in each measured run, one delete per service in sequence.
 */
export async function benchSmoke(
  options: SmokeBenchOptions = {},
): Promise<SmokeBenchResult> {
  const runs = options.runs ?? 3;
  const standIns = await startOryStandIns({
    latencyMs: options.latencyMs ?? 25,
  });
  const repoRoot = await makeRepository({ name: "bench" });
  const timeRun = async (only: string): Promise<number> => {
    const started = performance.now();
    const code = await main(["bench", "--read-write", "--only", only], {
      repoRoot,
      environmentVariables: standIns.variables(),
      writeOutput: () => {},
      logger: createLogger("silent"),
      signals: new EventEmitter(),
    });
    if (code !== 0) {
      throw new Error(
        `smoke run of ${only} against the stand-ins exited ${code}`,
      );
    }
    return performance.now() - started;
  };

  try {
    // One unmeasured run, so module loading and connection setup do not count.
    await timeRun(SERVICES.join(","));
    const full: number[] = [];
    const chains: number[][] = SERVICES.map(() => []);
    for (let run = 0; run < runs; run++) {
      full.push(await timeRun(SERVICES.join(",")));
      for (const [index, service] of SERVICES.entries()) {
        chains[index]!.push(await timeRun(service));
      }
    }
    const wallMs = median(full);
    const slowestChainMs = Math.max(...chains.map(median));
    return {
      wallMs: Math.round(wallMs),
      slowestChainMs: Math.round(slowestChainMs),
      ratio: Number((wallMs / slowestChainMs).toFixed(2)),
    };
  } finally {
    await standIns.close();
    await rm(repoRoot, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[middle]!
    : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
