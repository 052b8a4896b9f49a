import type { Logger } from "../lib/log.js";

export type InterruptSignal = "SIGINT" | "SIGTERM";

/** The part of `process` that delivers signals; tests pass an EventEmitter. */
export interface SignalSource {
  on(event: InterruptSignal, listener: () => void): unknown;
  off(event: InterruptSignal, listener: () => void): unknown;
}

export interface InterruptWatch {
  /** Aborted at the first SIGINT or SIGTERM. */
  signal: AbortSignal;
  /** The signal received, or undefined. */
  received(): InterruptSignal | undefined;
  /** Restores the default handling of the signals. */
  dispose(): void;
}

// A Ctrl-C under `npm run` can reach this process twice, once from the
// terminal and once relayed by npm or tsx, so repeats this soon are ignored.
const REPEAT_GRACE_MS = 2_000;

/**
 * Turns SIGINT and SIGTERM into an abort, so the run stops its checks and
 * still deletes what it created. A further signal after the grace period
 * calls `exit(1)` at once, leaving the rest to a later `--sweep`.
 */
export function watchInterrupts(
  source: SignalSource,
  logger: Logger,
  exit: (code: number) => void,
): InterruptWatch {
  const controller = new AbortController();
  let first: { signal: InterruptSignal; at: number } | undefined;

  const handle = (signal: InterruptSignal) => {
    if (!first) {
      first = { signal, at: Date.now() };
      logger.warn(
        `${signal} received: stopping the checks and deleting what this run created; send it again to quit at once`,
      );
      controller.abort(new Error(`${signal} received`));
      return;
    }
    if (Date.now() - first.at < REPEAT_GRACE_MS) return;
    logger.error(
      `${signal} received again: quitting before cleanup finished; run again with --sweep to delete leftovers`,
    );
    exit(1);
  };
  const onInt = () => handle("SIGINT");
  const onTerm = () => handle("SIGTERM");
  source.on("SIGINT", onInt);
  source.on("SIGTERM", onTerm);

  return {
    signal: controller.signal,
    received: () => first?.signal,
    dispose() {
      source.off("SIGINT", onInt);
      source.off("SIGTERM", onTerm);
    },
  };
}
