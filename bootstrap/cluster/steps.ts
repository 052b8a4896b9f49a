import {
  CreateClusterCommand,
  CreateNodegroupCommand,
  TagResourceCommand,
  UpdateClusterConfigCommand,
  UpdateClusterVersionCommand,
  UpdateNodegroupConfigCommand,
  UpdateNodegroupVersionCommand,
  type Cluster,
  type EKSClient,
  type Nodegroup,
} from "@aws-sdk/client-eks";
import type { ApplyContext } from "./apply.js";
import { describeAwsError, isAwsError } from "./aws.js";
import { publicCidrsOf } from "./compare.js";
import type { Operation, PlannedStep } from "./plan.js";
import { createClusterInput, createNodegroupInput } from "./requests.js";
import { waitForCluster, waitForNodegroup } from "./wait.js";

/** The latest description of each resource during one apply run. */
export interface ResourceState {
  cluster: Cluster | null;
  nodegroup: Nodegroup | null;
}

/**
 * Carries out one planned step: its EKS call and, unless the call only
 * tags, a waiter until the resource is ACTIVE again. Updates `state` with
 * the waiter's last description.
 */
export async function runStep(
  context: ApplyContext,
  state: ResourceState,
  step: PlannedStep,
): Promise<void> {
  const { aws, desired, logger } = context;
  const name = desired.spec.name;
  const group = desired.spec.nodeGroup;

  switch (step.operation) {
    case "waitForCluster":
      state.cluster = await waitForCluster(context, name);
      return;
    case "createCluster": {
      const input = createClusterInput(desired);
      logger.info(
        `creating cluster ${name} in ${aws.region} (request token ${input.clientRequestToken}); this takes 10 to 15 minutes`,
      );
      await send(context, step, (eks) =>
        eks.send(new CreateClusterCommand(input)),
      );
      state.cluster = await waitForCluster(context, name);
      return;
    }
    case "updateClusterEndpointAccess": {
      const access = desired.spec.endpointAccess;
      logger.info(`updating the endpoint access of cluster ${name}`);
      await send(context, step, (eks) =>
        eks.send(
          new UpdateClusterConfigCommand({
            name,
            resourcesVpcConfig: {
              endpointPublicAccess: access.public,
              endpointPrivateAccess: access.private,
              ...(access.public
                ? { publicAccessCidrs: publicCidrsOf(desired) }
                : {}),
            },
          }),
        ),
      );
      state.cluster = await waitForCluster(context, name);
      return;
    }
    case "tagCluster":
      await tag(context, state.cluster?.arn, step, `cluster ${name}`);
      return;
    case "updateClusterVersion":
      logger.info(
        `upgrading cluster ${name} to Kubernetes ${desired.spec.kubernetesVersion}`,
      );
      await send(context, step, (eks) =>
        eks.send(
          new UpdateClusterVersionCommand({
            name,
            version: desired.spec.kubernetesVersion,
          }),
        ),
      );
      state.cluster = await waitForCluster(context, name);
      return;
    case "waitForNodegroup":
      state.nodegroup = await waitForNodegroup(context, name, group.name);
      return;
    case "createNodegroup": {
      const input = createNodegroupInput(desired);
      logger.info(
        `creating node group ${group.name} (request token ${input.clientRequestToken})`,
      );
      await send(context, step, (eks) =>
        eks.send(new CreateNodegroupCommand(input)),
      );
      state.nodegroup = await waitForNodegroup(context, name, group.name);
      return;
    }
    case "updateNodegroupScaling":
      logger.info(
        `updating the scaling of node group ${group.name}: ${describeChanges(step)}`,
      );
      await send(context, step, (eks) =>
        eks.send(
          new UpdateNodegroupConfigCommand({
            clusterName: name,
            nodegroupName: group.name,
            scalingConfig: {
              minSize: group.minSize,
              maxSize: group.maxSize,
              desiredSize: group.desiredSize,
            },
          }),
        ),
      );
      state.nodegroup = await waitForNodegroup(context, name, group.name);
      return;
    case "updateNodegroupVersion":
      logger.info(
        `upgrading node group ${group.name} to Kubernetes ${desired.spec.kubernetesVersion}; nodes are replaced one at a time`,
      );
      await send(context, step, (eks) =>
        eks.send(
          new UpdateNodegroupVersionCommand({
            clusterName: name,
            nodegroupName: group.name,
            version: desired.spec.kubernetesVersion,
          }),
        ),
      );
      state.nodegroup = await waitForNodegroup(context, name, group.name);
      return;
    case "tagNodegroup":
      await tag(
        context,
        state.nodegroup?.nodegroupArn,
        step,
        `node group ${group.name}`,
      );
      return;
  }
}

async function tag(
  context: ApplyContext,
  arn: string | undefined,
  step: PlannedStep,
  subject: string,
): Promise<void> {
  if (!arn) throw new Error(`${subject} has no ARN to tag`);
  const tags = Object.fromEntries(
    step.changes.map((change) => [
      change.field.slice("tags.".length),
      change.desired,
    ]),
  );
  context.logger.info(`tagging ${subject}: ${describeChanges(step)}`);
  await send(context, step, (eks) =>
    eks.send(new TagResourceCommand({ resourceArn: arn, tags })),
  );
}

/**
 * Sends one EKS command. A create's ResourceInUseException stays as it is
 * for the caller to handle, every other error becomes a ToolError.
 */
async function send(
  context: ApplyContext,
  step: PlannedStep,
  call: (eks: EKSClient) => Promise<unknown>,
): Promise<void> {
  try {
    await call(context.aws.eks);
  } catch (error) {
    if (isCreate(step) && isAwsError(error, "ResourceInUseException"))
      throw error;
    throw describeAwsError(error, IAM_ACTIONS[step.operation], context.aws);
  }
}

/** The IAM action each step needs, named in permission errors. */
export const IAM_ACTIONS: Record<Operation, string> = {
  waitForCluster: "eks:DescribeCluster",
  createCluster: "eks:CreateCluster",
  updateClusterEndpointAccess: "eks:UpdateClusterConfig",
  tagCluster: "eks:TagResource",
  updateClusterVersion: "eks:UpdateClusterVersion",
  waitForNodegroup: "eks:DescribeNodegroup",
  createNodegroup: "eks:CreateNodegroup",
  updateNodegroupScaling: "eks:UpdateNodegroupConfig",
  updateNodegroupVersion: "eks:UpdateNodegroupVersion",
  tagNodegroup: "eks:TagResource",
};

export function isCreate(step: PlannedStep): boolean {
  return (
    step.operation === "createCluster" || step.operation === "createNodegroup"
  );
}

export function describeChanges(step: PlannedStep): string {
  return step.changes
    .map((change) => `${change.field} ${change.current} -> ${change.desired}`)
    .join(", ");
}
