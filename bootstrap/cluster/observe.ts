import { DescribeSubnetsCommand, type Subnet } from "@aws-sdk/client-ec2";
import {
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  type Cluster,
  type Nodegroup,
} from "@aws-sdk/client-eks";
import { UsageError } from "../../tools/lib/errors.js";
import { describeAwsError, isAwsError, type AwsClients } from "./aws.js";
import type { DesiredCluster } from "./spec.js";

/** Observed AWS state for one cluster.yaml. */
export interface ObservedState {
  cluster: Cluster | null;
  /** Null when the node group or its cluster does not exist. */
  nodegroup: Nodegroup | null;
}

/** Describes the cluster and, when it exists, its node group. */
export async function observe(
  aws: AwsClients,
  desired: DesiredCluster,
): Promise<ObservedState> {
  const cluster = await describeCluster(aws, desired.spec.name);
  const nodegroup = cluster
    ? await describeNodegroup(
        aws,
        desired.spec.name,
        desired.spec.nodeGroup.name,
      )
    : null;
  return { cluster, nodegroup };
}

/** Returns the cluster, or null when EKS reports ResourceNotFoundException. */
export async function describeCluster(
  aws: AwsClients,
  name: string,
): Promise<Cluster | null> {
  try {
    const output = await aws.eks.send(new DescribeClusterCommand({ name }));
    return output.cluster ?? null;
  } catch (error) {
    if (isAwsError(error, "ResourceNotFoundException")) return null;
    throw describeAwsError(error, "eks:DescribeCluster", aws);
  }
}

/** Returns the node group, or null when EKS reports ResourceNotFoundException. */
export async function describeNodegroup(
  aws: AwsClients,
  clusterName: string,
  nodegroupName: string,
): Promise<Nodegroup | null> {
  try {
    const output = await aws.eks.send(
      new DescribeNodegroupCommand({ clusterName, nodegroupName }),
    );
    return output.nodegroup ?? null;
  } catch (error) {
    if (isAwsError(error, "ResourceNotFoundException")) return null;
    throw describeAwsError(error, "eks:DescribeNodegroup", aws);
  }
}

/** Describes the subnets of cluster.yaml; a missing one is a usage error. */
export async function describeSubnets(
  aws: AwsClients,
  desired: DesiredCluster,
): Promise<Subnet[]> {
  try {
    const output = await aws.ec2.send(
      new DescribeSubnetsCommand({ SubnetIds: desired.subnetIds }),
    );
    return output.Subnets ?? [];
  } catch (error) {
    // EC2 rejects the whole call when one id does not exist.
    if (isAwsError(error, "InvalidSubnetID.NotFound")) {
      throw new UsageError(
        `${desired.file}: ${(error as Error).message} in ${aws.region}; fix the subnet ids under subnets, or pick the profile of the account that owns them`,
        { cause: error },
      );
    }
    throw describeAwsError(error, "ec2:DescribeSubnets", aws);
  }
}
