import type { Cluster, Nodegroup } from "@aws-sdk/client-eks";
import { EXIT_PROBLEM, ToolError } from "../../tools/lib/errors.js";
import { describeAwsError, isAwsError } from "./aws.js";
import { describeCluster, describeNodegroup } from "./observe.js";
import {
  planCluster,
  planNodegroup,
  type Operation,
  type Plan,
  type PlannedStep,
  type PlanOptions,
  type ResourcePlan,
} from "./plan.js";
import type { DesiredCluster } from "./spec.js";
import { IAM_ACTIONS, isCreate, runStep, type ResourceState } from "./steps.js";
import type { WaitContext } from "./wait.js";

export type StepOutcome = "done" | "held" | "failed" | "skipped";

/** Outcome of one planned step. */
export interface StepResult {
  resource: ResourcePlan["resource"];
  name: string;
  operation: Operation;
  outcome: StepOutcome;
  /** Seconds the step took, waits included; absent unless it ran. */
  seconds?: number;
  message?: string;
}

export interface ApplyContext extends WaitContext {
  desired: DesiredCluster;
  options: PlanOptions;
}

export interface ApplyResult {
  steps: StepResult[];
  /** Plans replaced after a create found the resource already there. */
  plan: Plan;
  cluster: Cluster | null;
  nodegroup: Nodegroup | null;
  /** The first step that failed; later steps were skipped. */
  failure?: ToolError;
}

/**
 * Carries out the plan: the cluster's steps, then the node group's, each
 * EKS call followed by a waiter until the resource is ACTIVE again. Held
 * steps are reported and skipped. A blocked resource is left alone. The
 * first failure stops the run and later steps are reported as skipped.
 */
export async function applyPlan(
  context: ApplyContext,
  plan: Plan,
  observed: ResourceState,
): Promise<ApplyResult> {
  const state: ResourceState = { ...observed };
  const steps: StepResult[] = [];
  const result: ApplyResult = { steps, plan: { ...plan }, ...state };

  for (const resource of ["cluster", "nodegroup"] as const) {
    let current = result.plan[resource];
    const skipReason = result.failure
      ? "an earlier step failed"
      : current.blockers.length > 0 || result.plan.cluster.blockers.length > 0
        ? "blocked"
        : undefined;
    if (skipReason) {
      for (const step of current.steps) {
        steps.push(record(current, step, "skipped", skipReason));
      }
      continue;
    }

    for (let index = 0; index < current.steps.length; index++) {
      const step = current.steps[index]!;
      if (result.failure) {
        steps.push(record(current, step, "skipped", "an earlier step failed"));
        continue;
      }
      if (step.held) {
        context.logger.warn(
          `${label(current)}: not running ${step.operation}: ${step.held}`,
        );
        steps.push(record(current, step, "held", step.held));
        continue;
      }

      const started = context.now();
      try {
        await runStep(context, state, step);
        steps.push({
          ...record(current, step, "done"),
          seconds: elapsedSeconds(context, started),
        });
      } catch (error) {
        let failure: ToolError;
        if (isCreate(step) && isAwsError(error, "ResourceInUseException")) {
          // Another run created it between our describe and our create:
          // compare what is there and carry on with that plan instead.
          context.logger.info(
            `${label(current)} already exists; comparing it with ${context.desired.file}`,
          );
          steps.push(record(current, step, "skipped", "it already existed"));
          try {
            current = await replan(context, state, result, resource);
            result.plan = { ...result.plan, [resource]: current };
            if (current.blockers.length > 0) break;
            index = -1;
            continue;
          } catch (replanError) {
            failure = toToolError(context, step, replanError);
          }
        } else {
          failure = toToolError(context, step, error);
        }
        context.logger.error(failure.message);
        steps.push({
          ...record(current, step, "failed", failure.message),
          seconds: elapsedSeconds(context, started),
        });
        result.failure = failure;
      }
    }
  }
  return { ...result, ...state };
}

async function replan(
  context: ApplyContext,
  state: ResourceState,
  result: ApplyResult,
  resource: "cluster" | "nodegroup",
): Promise<ResourcePlan> {
  const { aws, desired, options } = context;
  if (resource === "cluster") {
    state.cluster = await describeCluster(aws, desired.spec.name);
    if (!state.cluster) throw raceLost(`cluster ${desired.spec.name}`);
    // The run that created the cluster may have created the node group too.
    state.nodegroup = await describeNodegroup(
      aws,
      desired.spec.name,
      desired.spec.nodeGroup.name,
    );
    result.plan.nodegroup = planNodegroup(desired, state.nodegroup, options);
    return planCluster(desired, state.cluster, options);
  }
  state.nodegroup = await describeNodegroup(
    aws,
    desired.spec.name,
    desired.spec.nodeGroup.name,
  );
  if (!state.nodegroup)
    throw raceLost(`node group ${desired.spec.nodeGroup.name}`);
  return planNodegroup(desired, state.nodegroup, options);
}

function raceLost(resource: string): ToolError {
  return new ToolError(
    `EKS reported that ${resource} is in use, but cannot describe it; another run may be deleting it. Run this command again once it settles`,
    EXIT_PROBLEM,
  );
}

function toToolError(
  context: ApplyContext,
  step: PlannedStep,
  error: unknown,
): ToolError {
  if (error instanceof ToolError) return error;
  return describeAwsError(error, IAM_ACTIONS[step.operation], context.aws);
}

function record(
  plan: ResourcePlan,
  step: PlannedStep,
  outcome: StepOutcome,
  message?: string,
): StepResult {
  return {
    resource: plan.resource,
    name: plan.name,
    operation: step.operation,
    outcome,
    ...(message ? { message } : {}),
  };
}

function label(plan: ResourcePlan): string {
  return `${plan.resource === "cluster" ? "cluster" : "node group"} ${plan.name}`;
}

function elapsedSeconds(context: ApplyContext, started: number): number {
  return Math.round((context.now() - started) / 1000);
}
