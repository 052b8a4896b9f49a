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
  left: "left as is",
};
const APPLIED: Record<ItemStatus, string> = {
  exists: "exists",
  create: "created",
  change: "changed",
  blocked: "blocked",
  left: "left as is",
};

export function countStatuses(items: PlanItem[]): Record<ItemStatus, number> {
  const counts = { exists: 0, create: 0, change: 0, blocked: 0, left: 0 };
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

function summaryLine(result: RunResult): string {
  const counts = countStatuses(result.items);
  const failed = result.checks.filter((check) => !check.passed).length;
  const blocked = counts.blocked > 0 ? `, ${counts.blocked} blocked` : "";
  const left = counts.left > 0 ? `, ${counts.left} left as is` : "";
  if (!result.applied) {
    if (counts.create + counts.change === 0) {
      return `Nothing to do: ${counts.exists} items exist${blocked}${left}.`;
    }
    return (
      `Plan: ${counts.create} to create, ${counts.change} to change, ${counts.exists} unchanged${blocked}${left}. ` +
      "Nothing was changed; rerun with --apply to carry it out."
    );
  }
  const verdict =
    failed > 0
      ? `${failed} check(s) FAILED`
      : `${result.checks.length} checks passed`;
  return `Applied: ${counts.create} created, ${counts.change} changed, ${counts.exists} unchanged${blocked}${left}; ${verdict}.`;
}
