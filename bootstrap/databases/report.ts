import type { ItemStatus, PlanItem } from "./plan.js";
import type { Check } from "./verify.js";

/** The command's result. It never contains a password or a Secret's values. */
export interface RunResult {
  environment: string;
  server: { dialect: string; version: string; endpoint: string };
  secretStore: string;
  applied: boolean;
  items: PlanItem[];
  checks: Check[];
  /** Deployments to restart, as "namespace/name", with the kube context. */
  restarts: { context: string; namespace: string; deployment: string }[];
  warnings: string[];
}

const PLANNED: Record<ItemStatus, string> = {
  exists: "exists",
  create: "will create",
  change: "will change",
  blocked: "blocked",
  finding: "FINDING",
  left: "left as is",
};
const APPLIED: Record<ItemStatus, string> = {
  exists: "exists",
  create: "created",
  change: "changed",
  blocked: "blocked",
  finding: "FINDING",
  left: "left as is",
};

export function countStatuses(items: PlanItem[]): Record<ItemStatus, number> {
  const counts = {
    exists: 0,
    create: 0,
    change: 0,
    blocked: 0,
    finding: 0,
    left: 0,
  };
  for (const item of items) counts[item.status]++;
  return counts;
}

/** Renders the result as JSON; statements appear with passwords masked. */
export function renderJson(result: RunResult): string {
  const output = {
    ...result,
    items: result.items.map((item) => ({
      group: item.group,
      subject: item.subject,
      status: item.status,
      reason: item.reason ?? null,
      statements: item.statements.map((statement) => statement.shown),
    })),
    summary: countStatuses(result.items),
  };
  return JSON.stringify(output, null, 2) + "\n";
}

/** Renders the result for a person: items by group, checks, next steps. */
export function renderText(result: RunResult): string {
  const lines: string[] = [];
  const { server } = result;
  lines.push(
    `Environment ${result.environment}: ${server.version.split(" on ")[0]} at ${server.endpoint}; Secrets in ${result.secretStore}.`,
  );
  const words = result.applied ? APPLIED : PLANNED;
  let group: string | undefined;
  for (const item of result.items) {
    if (item.group !== group) {
      group = item.group;
      lines.push("", group);
    }
    const reason =
      item.reason && item.status !== "exists" ? ` (${item.reason})` : "";
    lines.push(`  ${words[item.status].padEnd(12)}${item.subject}${reason}`);
  }

  if (result.checks.length > 0) {
    lines.push("", "verification");
    for (const check of result.checks) {
      const detail = check.detail ? `: ${check.detail}` : "";
      lines.push(
        `  ${(check.passed ? "passed" : "FAILED").padEnd(12)}${check.subject}${detail}`,
      );
    }
  }
  if (result.warnings.length > 0) {
    lines.push("", "warnings");
    for (const warning of result.warnings) lines.push(`  ${warning}`);
  }
  if (result.restarts.length > 0) {
    lines.push(
      "",
      "Restart these Deployments to use the new passwords; running pods keep the old one until then:",
    );
    for (const restart of result.restarts) {
      lines.push(
        `  kubectl --context ${restart.context} -n ${restart.namespace} rollout restart deployment/${restart.deployment}`,
      );
    }
  }
  lines.push("", summaryLine(result));
  return lines.join("\n") + "\n";
}

/**
 * Builds the last line. Problems come first, because they decide the exit
 * code: blocked items, isolation findings and failed checks.
 */
function summaryLine(result: RunResult): string {
  const counts = countStatuses(result.items);
  const failed = result.checks.filter((check) => !check.passed).length;
  const problems = [
    counted(counts.blocked, "item", "items", "blocked"),
    counted(counts.finding, "isolation finding", "isolation findings"),
    counted(failed, "check", "checks", "FAILED"),
  ].filter((text) => text !== "");
  const head = problems.length > 0 ? `${problems.join(", ")}; see above. ` : "";
  const left = counts.left > 0 ? `, ${counts.left} left as is` : "";
  if (!result.applied) {
    if (counts.create + counts.change === 0) {
      const nothing =
        problems.length > 0 ? "Nothing else to do" : "Nothing to do";
      return `${head}${nothing}: ${counts.exists} items exist${left}.`;
    }
    return (
      `${head}Plan: ${counts.create} to create, ${counts.change} to change, ${counts.exists} unchanged${left}. ` +
      "Nothing was changed; rerun with --apply to carry it out."
    );
  }
  const passed = result.checks.length - failed;
  return `${head}Applied: ${counts.create} created, ${counts.change} changed, ${counts.exists} unchanged${left}; ${passed} checks passed.`;
}

function counted(
  count: number,
  one: string,
  many: string,
  suffix = "",
): string {
  if (count === 0) return "";
  return `${count} ${count === 1 ? one : many}${suffix ? ` ${suffix}` : ""}`;
}
