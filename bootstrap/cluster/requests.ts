import { createHash } from "node:crypto";
import type {
  CreateClusterCommandInput,
  CreateNodegroupCommandInput,
} from "@aws-sdk/client-eks";
import { publicCidrsOf } from "./compare.js";
import type { DesiredCluster } from "./spec.js";

/** Builds the CreateCluster request for cluster.yaml, with a stable request token. */
export function createClusterInput(
  desired: DesiredCluster,
): CreateClusterCommandInput {
  const { spec } = desired;
  const input: CreateClusterCommandInput = {
    name: spec.name,
    version: spec.kubernetesVersion,
    roleArn: spec.clusterRoleArn,
    resourcesVpcConfig: {
      subnetIds: desired.subnetIds,
      endpointPublicAccess: spec.endpointAccess.public,
      endpointPrivateAccess: spec.endpointAccess.private,
      ...(spec.endpointAccess.public
        ? { publicAccessCidrs: publicCidrsOf(desired) }
        : {}),
    },
    // The identity that creates the cluster gets cluster-admin through an
    // access entry, which the Flux hand-over right after creation needs.
    accessConfig: {
      authenticationMode: "API_AND_CONFIG_MAP",
      bootstrapClusterCreatorAdminPermissions: true,
    },
    tags: spec.tags,
  };
  return { ...input, clientRequestToken: requestToken(desired, input) };
}

/** Builds the CreateNodegroup request for cluster.yaml, with a stable request token. */
export function createNodegroupInput(
  desired: DesiredCluster,
): CreateNodegroupCommandInput {
  const { spec } = desired;
  const group = spec.nodeGroup;
  const input: CreateNodegroupCommandInput = {
    clusterName: spec.name,
    nodegroupName: group.name,
    version: spec.kubernetesVersion,
    scalingConfig: {
      minSize: group.minSize,
      maxSize: group.maxSize,
      desiredSize: group.desiredSize,
    },
    subnets: desired.subnetIds,
    instanceTypes: [group.instanceType],
    amiType: group.amiType as CreateNodegroupCommandInput["amiType"],
    capacityType: "ON_DEMAND",
    nodeRole: group.nodeRoleArn,
    // Replace one node at a time, so a CockroachDB cluster with one node
    // per zone keeps a quorum during a version update.
    updateConfig: { maxUnavailable: 1 },
    tags: spec.tags,
  };
  return { ...input, clientRequestToken: requestToken(desired, input) };
}

/**
 * Derives the idempotency token from the account, region and request, so a
 * rerun after a lost response sends the same token and EKS returns the
 * resource it already made instead of a second one. A changed request gets
 * a new token. Formatted as a UUID because the SDK's own tokens are UUIDs.
 */
export function requestToken(desired: DesiredCluster, input: object): string {
  const hex = createHash("sha256")
    .update(JSON.stringify([desired.accountId, desired.region, input]))
    .digest("hex");
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    hex.slice(12, 16),
    hex.slice(16, 20),
    hex.slice(20, 32),
  ].join("-");
}
