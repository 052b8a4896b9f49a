import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";

/** Description of the machine that ran the bench. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  /** `kubectl version --client` output, or null when kubectl is missing. */
  kubectl: string | null;
  /** One-minute load average when the bench started; other work skews the figures. */
  loadAverage: number;
}

export function describeMachine(): Machine {
  return {
    cpu: readCpuModel(),
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    kubectl: readKubectlVersion(),
    loadAverage: os.loadavg()[0] ?? 0,
  };
}

function readCpuModel(): string {
  try {
    const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
    const match = /^model name\s*:\s*(.+)$/m.exec(cpuinfo);
    if (match?.[1]) return match[1].trim();
  } catch {
    // Not Linux: fall back to what Node reports.
  }
  return os.cpus()[0]?.model ?? "unknown";
}

function readKubectlVersion(): string | null {
  try {
    const output = execFileSync(
      process.env.KUBECTL ?? "kubectl",
      ["version", "--client"],
      { encoding: "utf8", timeout: 10_000 },
    );
    return output.trim().split("\n").join(", ");
  } catch {
    return null;
  }
}
