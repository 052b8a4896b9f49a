import type { StepResult } from "./apply.js";
import type { FluxResult } from "./flux.js";
import type { Plan, PlannedStep, ResourcePlan } from "./plan.js";
import { formatDuration } from "./wait.js";

/** The result of one run, printed on stdout as text or JSON. */
export interface RunResult {
  cluster: string;
  environment: string;
  region: string;
  account: string;
  /** ARN of the AWS identity the run used. */
  identity: string;
  applied: boolean;
  upgrade: boolean;
  /** Subnet ids by the zone EC2 reports them in. */
  subnets: Record<string, string[]>;
  plan: Plan;
  /** Outcome of every planned step; empty without --apply. */
  steps: StepResult[];
  flux: FluxResult | { outcome: "not run"; reason: string };
  /** Blockers and failures, each a sentence naming what to fix. */
  problems: string[];
}

export function renderJson(result: RunResult): string {
  return JSON.stringify(result, null, 2) + "\n";
}

export function renderText(result: RunResult): string {
  const lines = [
    `Cluster ${result.cluster}: environment ${result.environment}, ${result.region}, account ${result.account}`,
    `Subnets: ${Object.entries(result.subnets)
      .map(([zone, ids]) => `${zone} ${ids.join(", ")}`)
      .join("; ")}`,
    "",
    ...renderResource(result.plan.cluster),
    ...renderResource(result.plan.nodegroup),
  ];

  if (result.applied) {
    lines.push("", "Steps:");
    if (result.steps.length === 0) lines.push("  none");
    for (const step of result.steps) lines.push(`  ${renderStep(step)}`);
    lines.push("", renderFlux(result.flux));
  }
  if (result.problems.length > 0) {
    lines.push(
      "",
      "Problems:",
      ...result.problems.map((problem) => `  - ${problem}`),
    );
  }

  lines.push("", summary(result));
  return lines.join("\n") + "\n";
}

function renderResource(plan: ResourcePlan): string[] {
  const kind = plan.resource === "cluster" ? "cluster" : "node group";
  const status = plan.status ? ` (${plan.status})` : "";
  const action = plan.action === "none" ? "nothing to do" : plan.action;
  const lines = [`${kind} ${plan.name}${status}: ${action}`];
  for (const step of plan.steps) lines.push(...renderPlannedStep(step));
  for (const warning of plan.warnings) lines.push(`  warning: ${warning}`);
  return lines;
}

function renderPlannedStep(step: PlannedStep): string[] {
  const held = step.held ? ` (held: ${step.held})` : "";
  if (step.changes.length === 0) {
    return [`  ${step.operation}: ${step.summary ?? ""}${held}`];
  }
  return [
    `  ${step.operation}${held}`,
    ...step.changes.map(
      (change) => `    ${change.field}: ${change.current} -> ${change.desired}`,
    ),
  ];
}

function renderStep(step: StepResult): string {
  const time =
    step.seconds !== undefined
      ? ` in ${formatDuration(step.seconds * 1000)}`
      : "";
  const message = step.message ? `: ${step.message}` : "";
  return `${step.outcome.padEnd(7)} ${step.operation} ${step.name}${time}${message}`;
}

function renderFlux(flux: RunResult["flux"]): string {
  if (flux.outcome === "not run") return `Flux: not run, ${flux.reason}`;
  const from = flux.components ? ` from ${flux.components}` : "";
  const message = flux.message ? ` (${flux.message})` : "";
  return `Flux: ${flux.outcome}${from}; Git credentials Secret ${flux.secret}; root Kustomization Ready${message}`;
}

function summary(result: RunResult): string {
  const pending = [result.plan.cluster, result.plan.nodegroup].some(
    (plan) => plan.action !== "none",
  );
  if (result.problems.length > 0)
    return "Some resources need attention; see Problems.";
  if (!result.applied) {
    return pending
      ? "Nothing was changed. Run again with --apply to carry out this plan."
      : "Nothing to do on AWS. Run with --apply to check the Flux hand-over.";
  }
  const held = result.steps.some((step) => step.outcome === "held");
  return held
    ? "Done, except the held steps: run again with --upgrade to carry them out."
    : "Done.";
}
