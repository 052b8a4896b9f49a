import { formatDuration } from "./duration.js";
import { describeReady } from "./flux.js";
import { shortSha } from "./revision.js";
import type { SyncResult } from "./wait.js";

/** The result for a person: one line when synced, else each unhealthy object. */
export function renderText(result: SyncResult): string {
  const at = `${result.environment} at ${shortSha(result.revision)}`;
  const elapsed = formatDuration(result.elapsedMs);
  if (result.outcome === "synced") {
    return `${at}: synced after ${elapsed}, ${result.objects.length} Flux objects Ready\n`;
  }
  const unhealthy = result.objects.filter((state) => state.phase !== "synced");
  const why =
    result.outcome === "failed"
      ? `failed after ${elapsed}`
      : `timed out after ${elapsed}`;
  const lines = [
    `${at}: not synced, ${why}; ${unhealthy.length} of ${result.objects.length} Flux objects are not synced:`,
  ];
  for (const state of unhealthy) {
    const where = state.namespace ? `${state.namespace}/` : "";
    lines.push(
      `  ${state.cluster} ${state.kind} ${where}${state.name}: ${state.phase}, ${state.detail}`,
    );
    lines.push(`    ${describeReady(state.ready)}`);
  }
  return lines.join("\n") + "\n";
}

/** The result for a program, with every object's state. */
export function renderJson(result: SyncResult): string {
  return (
    JSON.stringify(
      {
        environment: result.environment,
        revision: result.revision,
        outcome: result.outcome,
        elapsedSeconds: Math.round(result.elapsedMs / 1000),
        objects: result.objects.map((state) => ({
          cluster: state.cluster,
          kind: state.kind,
          namespace: state.namespace,
          name: state.name,
          phase: state.phase,
          detail: state.detail,
          ready: state.ready
            ? {
                status: state.ready.status,
                reason: state.ready.reason ?? null,
                message: state.ready.message ?? null,
              }
            : null,
        })),
      },
      null,
      2,
    ) + "\n"
  );
}
