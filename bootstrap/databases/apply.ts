import type { Logger } from "../../tools/lib/log.js";
import type { AdminConnection } from "./admin.js";
import type { Plan, PlanItem } from "./plan.js";
import type { SecretStore } from "./secret-store.js";

/**
 * Called before each side effect with its 0-based number and a description
 * free of secrets. Tests throw from it to stop a run part-way, as a crash
 * would.
 */
export type StepHook = (
  step: number,
  description: string,
) => void | Promise<void>;

function pending(item: PlanItem): boolean {
  return item.status === "create" || item.status === "change";
}

/**
 * Carries out the plan. Every Secret is written before any statement runs,
 * so a password reaches durable storage before the user that has it exists,
 * and a database is marked as this command's before it is created. A rerun
 * after a crash at any step inspects the server again and plans only what
 * is still missing.
 */
export async function applyPlan(
  plan: Plan,
  admin: AdminConnection,
  store: SecretStore,
  logger: Logger,
  beforeStep?: StepHook,
): Promise<void> {
  let step = 0;
  for (const item of plan.items) {
    if (!pending(item) || !item.secret) continue;
    await beforeStep?.(step++, `write ${item.subject}`);
    await store.write(item.secret);
    logger.info(
      `wrote ${item.subject} to ${store.description} (${item.reason})`,
    );
  }

  for (const item of plan.items) {
    if (!pending(item)) continue;
    for (const statement of item.statements) {
      const where = statement.database ? ` (in ${statement.database})` : "";
      await beforeStep?.(step++, statement.shown + where);
      await admin.run(statement);
      logger.info(`ran ${statement.shown}${where}`);
    }
  }
}
