import type { Cluster } from "@aws-sdk/client-eks";
import type {
  FieldChange,
  PlannedStep,
  PlanOptions,
  ResourcePlan,
} from "./plan.js";
import type { DesiredCluster } from "./spec.js";

const UPGRADE_HELD = "a Kubernetes version upgrade runs only with --upgrade";

/**
 * Adds the version step. EKS upgrades a control plane one minor version at
 * a time and never downgrades, so anything else is a blocker.
 */
export function planVersion(
  plan: ResourcePlan,
  current: string | undefined,
  desired: string,
  options: PlanOptions,
  controlPlane: boolean,
): void {
  if (current === desired) return;
  const from = minorOf(current);
  const to = minorOf(desired);
  const subject = controlPlane ? "the cluster" : `node group ${plan.name}`;
  if (from === undefined || to === undefined) {
    plan.blockers.push(
      `cannot compare Kubernetes version ${current ?? "(none)"} of ${subject} with ${desired}`,
    );
    return;
  }
  if (to < from) {
    plan.blockers.push(
      `${subject} runs Kubernetes ${current}, newer than kubernetesVersion ${desired}; EKS cannot downgrade, so set kubernetesVersion to ${current}`,
    );
    return;
  }
  if (controlPlane && to - from > 1) {
    plan.blockers.push(
      `the cluster runs Kubernetes ${current} and kubernetesVersion is ${desired}; EKS upgrades one minor version at a time, so set kubernetesVersion to 1.${from + 1}, apply with --upgrade, then continue`,
    );
    return;
  }
  const step: PlannedStep = {
    operation: controlPlane ? "updateClusterVersion" : "updateNodegroupVersion",
    changes: [change("kubernetesVersion", current, desired)],
  };
  if (!options.upgrade) step.held = UPGRADE_HELD;
  plan.steps.push(step);
}

function minorOf(version: string | undefined): number | undefined {
  const match = /^1\.(\d+)$/.exec(version ?? "");
  return match ? Number(match[1]) : undefined;
}

export function compareEndpointAccess(
  desired: DesiredCluster,
  cluster: Cluster,
): FieldChange[] {
  const expected = desired.spec.endpointAccess;
  const vpc = cluster.resourcesVpcConfig;
  const changes: FieldChange[] = [];
  if (vpc?.endpointPublicAccess !== expected.public) {
    changes.push(
      change(
        "endpointAccess.public",
        vpc?.endpointPublicAccess,
        expected.public,
      ),
    );
  }
  if (vpc?.endpointPrivateAccess !== expected.private) {
    changes.push(
      change(
        "endpointAccess.private",
        vpc?.endpointPrivateAccess,
        expected.private,
      ),
    );
  }
  // EKS keeps and reports CIDRs even while public access is off, so they
  // only matter when the endpoint is public.
  if (expected.public) {
    const cidrs = compareSets(vpc?.publicAccessCidrs, publicCidrsOf(desired));
    if (cidrs) changes.push({ field: "endpointAccess.publicCidrs", ...cidrs });
  }
  return changes;
}

/** Returns the public CIDRs to request. EKS stores an empty list as 0.0.0.0/0. */
export function publicCidrsOf(desired: DesiredCluster): string[] {
  const cidrs = desired.spec.endpointAccess.publicCidrs;
  return cidrs.length > 0 ? cidrs : ["0.0.0.0/0"];
}

/**
 * Lists the tags of cluster.yaml that are missing or different. Tags that
 * only AWS has are left alone, because EKS and other tools add their own.
 */
export function compareTags(
  desired: Record<string, string>,
  current: Record<string, string> | undefined,
): FieldChange[] {
  return Object.entries(desired)
    .filter(([key, value]) => current?.[key] !== value)
    .map(([key, value]) => change(`tags.${key}`, current?.[key], value));
}

export function compareSets(
  current: string[] | undefined,
  desired: string[],
): { current: string; desired: string } | undefined {
  const have = [...new Set(current ?? [])].sort();
  const want = [...new Set(desired)].sort();
  if (have.join(",") === want.join(",")) return undefined;
  return {
    current: have.join(", ") || "(none)",
    desired: want.join(", ") || "(none)",
  };
}

export function change(
  field: string,
  current: unknown,
  desired: unknown,
): FieldChange {
  return {
    field,
    current:
      current === undefined || current === null ? "(none)" : String(current),
    desired: String(desired),
  };
}

/** Formats EKS health issues as "CODE: message (resource ids)". */
export function describeIssues(
  issues:
    { code?: string; message?: string; resourceIds?: string[] }[] | undefined,
): string {
  return (issues ?? [])
    .map((issue) => {
      const ids = issue.resourceIds?.length
        ? ` (${issue.resourceIds.join(", ")})`
        : "";
      return `${issue.code ?? "Unknown"}: ${issue.message ?? "no message"}${ids}`;
    })
    .join("; ");
}

export function describeNewCluster(desired: DesiredCluster): string {
  const { spec } = desired;
  const access = [
    spec.endpointAccess.public
      ? `public (${publicCidrsOf(desired).join(", ")})`
      : "",
    spec.endpointAccess.private ? "private" : "",
  ]
    .filter(Boolean)
    .join(" and ");
  return `Kubernetes ${spec.kubernetesVersion}, ${desired.subnetIds.length} subnets in ${desired.zones.join(", ")}, ${access} endpoint`;
}

export function describeNewNodegroup(desired: DesiredCluster): string {
  const group = desired.spec.nodeGroup;
  return `${group.desiredSize} x ${group.instanceType} ${group.amiType} (min ${group.minSize}, max ${group.maxSize}) in ${desired.zones.join(", ")}`;
}
