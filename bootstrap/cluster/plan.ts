import type { Cluster, Nodegroup } from "@aws-sdk/client-eks";
import {
  change,
  compareEndpointAccess,
  compareSets,
  compareTags,
  describeIssues,
  describeNewCluster,
  describeNewNodegroup,
  planVersion,
} from "./compare.js";
import type { DesiredCluster } from "./spec.js";

/** One EKS call (or wait) that the apply phase carries out, in plan order. */
export type Operation =
  | "waitForCluster"
  | "createCluster"
  | "updateClusterEndpointAccess"
  | "tagCluster"
  | "updateClusterVersion"
  | "waitForNodegroup"
  | "createNodegroup"
  | "updateNodegroupScaling"
  | "updateNodegroupVersion"
  | "tagNodegroup";

/** A field whose observed value differs from cluster.yaml. */
export interface FieldChange {
  field: string;
  current: string;
  desired: string;
}

export interface PlannedStep {
  operation: Operation;
  changes: FieldChange[];
  /** One-line description of what a create or wait step does. */
  summary?: string;
  /** Reason the step is reported but not carried out; absent when it runs. */
  held?: string;
}

export type ResourceAction = "create" | "update" | "wait" | "none" | "blocked";

/** The plan for the cluster or for its node group. */
export interface ResourcePlan {
  resource: "cluster" | "nodegroup";
  name: string;
  /** Status EKS reports, or null when the resource does not exist. */
  status: string | null;
  action: ResourceAction;
  steps: PlannedStep[];
  /** Reasons this command cannot bring the resource in line with cluster.yaml. */
  blockers: string[];
  /** Health issues EKS reports on a resource that is still usable. */
  warnings: string[];
}

export interface Plan {
  cluster: ResourcePlan;
  nodegroup: ResourcePlan;
}

export interface PlanOptions {
  /** --upgrade: carry out Kubernetes version upgrades instead of holding them. */
  upgrade: boolean;
}

const IN_PROGRESS = new Set(["CREATING", "UPDATING", "PENDING"]);
const CLUSTER_UNUSABLE = new Set(["FAILED", "DELETING"]);
const NODEGROUP_UNUSABLE = new Set([
  "CREATE_FAILED",
  "DELETING",
  "DELETE_FAILED",
]);

/**
 * Compares what exists with cluster.yaml and lists, per resource, what to
 * create, update or wait for. Pure: the same inputs give the same plan.
 */
export function buildPlan(
  desired: DesiredCluster,
  observed: { cluster: Cluster | null; nodegroup: Nodegroup | null },
  options: PlanOptions,
): Plan {
  const cluster = planCluster(desired, observed.cluster, options);
  const nodegroup =
    cluster.blockers.length > 0
      ? blockedByCluster(desired, observed.nodegroup, cluster)
      : planNodegroup(desired, observed.nodegroup, options);
  return { cluster, nodegroup };
}

/** Plans the EKS cluster itself. */
export function planCluster(
  desired: DesiredCluster,
  cluster: Cluster | null,
  options: PlanOptions,
): ResourcePlan {
  const { spec } = desired;
  const plan = emptyPlan("cluster", spec.name, cluster?.status ?? null);
  if (!cluster) {
    plan.steps.push({
      operation: "createCluster",
      changes: [],
      summary: describeNewCluster(desired),
    });
    return finish(plan);
  }

  const status = cluster.status ?? "UNKNOWN";
  const issues = describeIssues(cluster.health?.issues);
  if (CLUSTER_UNUSABLE.has(status)) {
    plan.blockers.push(
      `cluster ${spec.name} is ${status}${issues ? `: ${issues}` : ""}; ` +
        (status === "FAILED"
          ? "fix the cause, delete the cluster, then run this command again"
          : "wait until the deletion ends, then run this command again to create it anew"),
    );
    return finish(plan);
  }
  if (issues) plan.warnings.push(`cluster ${spec.name} reports: ${issues}`);
  if (IN_PROGRESS.has(status)) {
    plan.steps.push({
      operation: "waitForCluster",
      changes: [],
      summary: `wait until the cluster leaves ${status}`,
    });
  }

  const vpc = cluster.resourcesVpcConfig;
  if (cluster.roleArn !== spec.clusterRoleArn) {
    plan.blockers.push(
      `clusterRoleArn is ${cluster.roleArn ?? "(none)"} but ${desired.file} sets ${spec.clusterRoleArn}; EKS cannot change a cluster's role, so restore the field or recreate the cluster`,
    );
  }
  const subnets = compareSets(vpc?.subnetIds, desired.subnetIds);
  if (subnets) {
    plan.blockers.push(
      `the cluster's subnets are ${subnets.current} but ${desired.file} lists ${subnets.desired}; this command does not move a cluster's subnets, so restore the list or change them in EKS yourself`,
    );
  }

  const endpoint = compareEndpointAccess(desired, cluster);
  if (endpoint.length > 0) {
    plan.steps.push({
      operation: "updateClusterEndpointAccess",
      changes: endpoint,
    });
  }
  const tags = compareTags(spec.tags, cluster.tags);
  if (tags.length > 0)
    plan.steps.push({ operation: "tagCluster", changes: tags });
  planVersion(plan, cluster.version, spec.kubernetesVersion, options, true);
  return finish(plan);
}

/** Plans the managed node group of a cluster that exists or will. */
export function planNodegroup(
  desired: DesiredCluster,
  nodegroup: Nodegroup | null,
  options: PlanOptions,
): ResourcePlan {
  const group = desired.spec.nodeGroup;
  const plan = emptyPlan("nodegroup", group.name, nodegroup?.status ?? null);
  if (!nodegroup) {
    plan.steps.push({
      operation: "createNodegroup",
      changes: [],
      summary: describeNewNodegroup(desired),
    });
    return finish(plan);
  }

  const status = nodegroup.status ?? "UNKNOWN";
  const issues = describeIssues(nodegroup.health?.issues);
  if (NODEGROUP_UNUSABLE.has(status)) {
    plan.blockers.push(
      `node group ${group.name} is ${status}${issues ? `: ${issues}` : ""}; fix the cause, delete the node group, then run this command again`,
    );
    return finish(plan);
  }
  if (issues) plan.warnings.push(`node group ${group.name} reports: ${issues}`);
  if (IN_PROGRESS.has(status)) {
    plan.steps.push({
      operation: "waitForNodegroup",
      changes: [],
      summary: `wait until the node group leaves ${status}`,
    });
  }

  const immutable: FieldChange[] = [];
  const types = compareSets(nodegroup.instanceTypes, [group.instanceType]);
  if (types) immutable.push({ field: "instanceType", ...types });
  if (nodegroup.amiType !== group.amiType) {
    immutable.push(change("amiType", nodegroup.amiType, group.amiType));
  }
  if (nodegroup.nodeRole !== group.nodeRoleArn) {
    immutable.push(
      change("nodeRoleArn", nodegroup.nodeRole, group.nodeRoleArn),
    );
  }
  const subnets = compareSets(nodegroup.subnets, desired.subnetIds);
  if (subnets) immutable.push({ field: "subnets", ...subnets });
  for (const field of immutable) {
    plan.blockers.push(
      `node group ${field.field} is ${field.current} but ${desired.file} sets ${field.desired}; EKS cannot change it in place, so restore the field or create a node group under a new name`,
    );
  }

  // NOTE: desiredSize is compared too, so a run reverts what a cluster
  // autoscaler set; none is deployed by this repository.
  const scaling = nodegroup.scalingConfig;
  const sizes: FieldChange[] = [];
  for (const key of ["minSize", "maxSize", "desiredSize"] as const) {
    if (scaling?.[key] !== group[key]) {
      sizes.push(change(`scaling.${key}`, scaling?.[key], group[key]));
    }
  }
  if (sizes.length > 0) {
    plan.steps.push({ operation: "updateNodegroupScaling", changes: sizes });
  }
  const tags = compareTags(desired.spec.tags, nodegroup.tags);
  if (tags.length > 0)
    plan.steps.push({ operation: "tagNodegroup", changes: tags });
  planVersion(
    plan,
    nodegroup.version,
    desired.spec.kubernetesVersion,
    options,
    false,
  );
  return finish(plan);
}

function blockedByCluster(
  desired: DesiredCluster,
  nodegroup: Nodegroup | null,
  cluster: ResourcePlan,
): ResourcePlan {
  const plan = emptyPlan(
    "nodegroup",
    desired.spec.nodeGroup.name,
    nodegroup?.status ?? null,
  );
  plan.blockers.push(
    `not planned: cluster ${cluster.name} must be brought in line first`,
  );
  return finish(plan);
}

function emptyPlan(
  resource: ResourcePlan["resource"],
  name: string,
  status: string | null,
): ResourcePlan {
  return {
    resource,
    name,
    status,
    action: "none",
    steps: [],
    blockers: [],
    warnings: [],
  };
}

function finish(plan: ResourcePlan): ResourcePlan {
  const operations = plan.steps.map((step) => step.operation);
  if (plan.blockers.length > 0) plan.action = "blocked";
  else if (operations.some((operation) => operation.startsWith("create")))
    plan.action = "create";
  else if (operations.some((operation) => !operation.startsWith("wait")))
    plan.action = "update";
  else if (operations.length > 0) plan.action = "wait";
  else plan.action = "none";
  return plan;
}
