import type { Logger } from "../lib/log.js";
import {
  logResult,
  runStep,
  type RetryPolicy,
  type StepAction,
  type StepResult,
  type Suite,
} from "./steps.js";

interface CleanupAction {
  suite: Suite;
  name: string;
  run: StepAction;
}

/**
 * Deletions of what a run created, run in reverse order when it ends. Steps
 * register an action before the request that creates the resource, so a
 * run interrupted while waiting for the response still deletes it. Each
 * action must therefore succeed when there is nothing to delete.
 */
export class CleanupStack {
  private readonly actions: CleanupAction[] = [];

  push(suite: Suite, name: string, run: StepAction): void {
    this.actions.push({ suite, name, run });
  }

  get size(): number {
    return this.actions.length;
  }

  /**
   * Runs every action, newest first, each retried to the policy's deadline.
   * A failed action does not stop the ones after it.
   */
  async runAll(options: {
    policy: RetryPolicy;
    signal: AbortSignal;
    logger: Logger;
  }): Promise<StepResult[]> {
    const results: StepResult[] = [];
    while (this.actions.length > 0) {
      const action = this.actions.pop()!;
      const result = await runStep(
        action.suite,
        `cleanup: ${action.name}`,
        action.run,
        options,
      );
      logResult(options.logger, result);
      results.push(result);
    }
    return results;
  }
}
