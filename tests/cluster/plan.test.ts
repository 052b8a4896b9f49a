import type { Cluster, Nodegroup } from "@aws-sdk/client-eks";
import { describe, expect, test } from "vitest";
import type { ClusterSpec } from "../../tools/lib/cluster.js";
import { buildPlan } from "../../bootstrap/cluster/plan.js";
import {
  createClusterInput,
  createNodegroupInput,
} from "../../bootstrap/cluster/requests.js";
import type { DesiredCluster } from "../../bootstrap/cluster/spec.js";
import { checkSubnets } from "../../bootstrap/cluster/subnets.js";
import {
  activeCluster,
  activeNodegroup,
  describedSubnets,
  orySpec,
  REGION,
  ZONES,
} from "./helpers.js";

function desired(overrides: Partial<ClusterSpec> = {}): DesiredCluster {
  const spec = { ...orySpec(), ...overrides } as ClusterSpec;
  return {
    spec,
    file: "clusters/dev-ory/cluster.yaml",
    region: REGION,
    zones: ZONES,
    subnetIds: ZONES.flatMap((zone) => spec.subnets[zone] ?? []),
    accountId: "111122223333",
  };
}

function plan(
  cluster: Cluster | null,
  nodegroup: Nodegroup | null,
  options = { upgrade: false },
  spec: Partial<ClusterSpec> = {},
) {
  return buildPlan(desired(spec), { cluster, nodegroup }, options);
}

describe("buildPlan", () => {
  test("missing cluster creates both", () => {
    const result = plan(null, null);

    expect(result.cluster.action).toBe("create");
    expect(result.cluster.steps.map((step) => step.operation)).toEqual([
      "createCluster",
    ]);
    expect(result.nodegroup.action).toBe("create");
    expect(result.nodegroup.steps.map((step) => step.operation)).toEqual([
      "createNodegroup",
    ]);
  });

  test("matching resources need nothing", () => {
    const result = plan(activeCluster(), activeNodegroup());

    expect(result.cluster.action).toBe("none");
    expect(result.nodegroup.action).toBe("none");
    expect(result.cluster.steps).toEqual([]);
    expect(result.nodegroup.steps).toEqual([]);
  });

  test("scaling drift lists each field", () => {
    const result = plan(
      activeCluster(),
      activeNodegroup("dev-ory", {
        scalingConfig: { minSize: 0, desiredSize: 2, maxSize: 4 },
      }),
    );

    expect(result.nodegroup.action).toBe("update");
    expect(result.nodegroup.steps).toEqual([
      {
        operation: "updateNodegroupScaling",
        changes: [
          { field: "scaling.minSize", current: "0", desired: "1" },
          { field: "scaling.desiredSize", current: "2", desired: "3" },
        ],
      },
    ]);
  });

  test("version drift is held without upgrade", () => {
    const result = plan(
      activeCluster("dev-ory", { version: "1.32" }),
      activeNodegroup("dev-ory", { version: "1.32" }),
    );

    expect(result.cluster.steps).toEqual([
      {
        operation: "updateClusterVersion",
        changes: [
          { field: "kubernetesVersion", current: "1.32", desired: "1.33" },
        ],
        held: "a Kubernetes version upgrade runs only with --upgrade",
      },
    ]);
    expect(result.nodegroup.steps[0]?.held).toBeDefined();
  });

  test("version drift runs with upgrade", () => {
    const result = plan(
      activeCluster("dev-ory", { version: "1.32" }),
      activeNodegroup(),
      { upgrade: true },
    );

    expect(result.cluster.steps[0]?.operation).toBe("updateClusterVersion");
    expect(result.cluster.steps[0]?.held).toBeUndefined();
  });

  test("two minor versions are blocked", () => {
    const result = plan(
      activeCluster("dev-ory", { version: "1.31" }),
      activeNodegroup(),
      { upgrade: true },
    );

    expect(result.cluster.action).toBe("blocked");
    expect(result.cluster.blockers[0]).toContain(
      "set kubernetesVersion to 1.32",
    );
    expect(result.nodegroup.action).toBe("blocked");
  });

  test("downgrade is blocked", () => {
    const result = plan(
      activeCluster("dev-ory", { version: "1.34" }),
      activeNodegroup(),
    );

    expect(result.cluster.action).toBe("blocked");
    expect(result.cluster.blockers[0]).toContain("EKS cannot downgrade");
  });

  test("instance type change is blocked", () => {
    const result = plan(
      activeCluster(),
      activeNodegroup("dev-ory", { instanceTypes: ["m5.large"] }),
    );

    expect(result.nodegroup.action).toBe("blocked");
    expect(result.nodegroup.blockers[0]).toContain("instanceType is m5.large");
  });

  test("cluster role change is blocked", () => {
    const result = plan(
      activeCluster("dev-ory", {
        roleArn: "arn:aws:iam::111122223333:role/other",
      }),
      activeNodegroup(),
    );

    expect(result.cluster.blockers[0]).toContain(
      "EKS cannot change a cluster's role",
    );
  });

  test("endpoint CIDR drift is an update", () => {
    const cluster = activeCluster();
    cluster.resourcesVpcConfig!.publicAccessCidrs = ["0.0.0.0/0"];

    const result = plan(cluster, activeNodegroup());

    expect(result.cluster.steps).toEqual([
      {
        operation: "updateClusterEndpointAccess",
        changes: [
          {
            field: "endpointAccess.publicCidrs",
            current: "0.0.0.0/0",
            desired: "203.0.113.0/24",
          },
        ],
      },
    ]);
  });

  test("empty CIDR list means 0.0.0.0/0", () => {
    const cluster = activeCluster();
    cluster.resourcesVpcConfig!.publicAccessCidrs = ["0.0.0.0/0"];
    const spec = orySpec();

    const result = plan(
      cluster,
      activeNodegroup(),
      { upgrade: false },
      {
        endpointAccess: { ...spec.endpointAccess, publicCidrs: [] },
      },
    );

    expect(result.cluster.action).toBe("none");
  });

  test("missing tag is added, extra tags kept", () => {
    const cluster = activeCluster();
    delete cluster.tags!["managed-by"];

    const result = plan(cluster, activeNodegroup());

    expect(result.cluster.steps).toEqual([
      {
        operation: "tagCluster",
        changes: [
          {
            field: "tags.managed-by",
            current: "(none)",
            desired: "ory-crdb-gitops",
          },
        ],
      },
    ]);
  });

  test("FAILED cluster is blocked with health", () => {
    const result = plan(
      activeCluster("dev-ory", {
        status: "FAILED",
        health: {
          issues: [
            {
              code: "IamRoleNotFound",
              message: "role not found",
              resourceIds: ["dev-ory-eks-cluster"],
            },
          ],
        },
      }),
      null,
    );

    expect(result.cluster.action).toBe("blocked");
    expect(result.cluster.blockers[0]).toContain(
      "IamRoleNotFound: role not found (dev-ory-eks-cluster)",
    );
    expect(result.nodegroup.action).toBe("blocked");
  });

  test("CREATE_FAILED node group is blocked", () => {
    const result = plan(
      activeCluster(),
      activeNodegroup("dev-ory", {
        status: "CREATE_FAILED",
        health: {
          issues: [
            {
              code: "NodeCreationFailure",
              message: "Instances failed to join",
            },
          ],
        },
      }),
    );

    expect(result.nodegroup.action).toBe("blocked");
    expect(result.nodegroup.blockers[0]).toContain(
      "NodeCreationFailure: Instances failed to join",
    );
  });

  test("CREATING cluster is waited for", () => {
    const result = plan(activeCluster("dev-ory", { status: "CREATING" }), null);

    expect(result.cluster.action).toBe("wait");
    expect(result.cluster.steps.map((step) => step.operation)).toEqual([
      "waitForCluster",
    ]);
    expect(result.nodegroup.action).toBe("create");
  });

  test("DEGRADED node group is a warning", () => {
    const result = plan(
      activeCluster(),
      activeNodegroup("dev-ory", {
        status: "DEGRADED",
        health: {
          issues: [{ code: "Ec2InstanceTypeDoesNotExist", message: "gone" }],
        },
      }),
    );

    expect(result.nodegroup.action).toBe("none");
    expect(result.nodegroup.warnings[0]).toContain(
      "Ec2InstanceTypeDoesNotExist: gone",
    );
  });
});

describe("checkSubnets", () => {
  test("three zones pass", () => {
    expect(checkSubnets(desired(), describedSubnets())).toEqual([]);
  });

  test("two zones fail", () => {
    const problems = checkSubnets(
      desired(),
      describedSubnets(["us-east-1a", "us-east-1b", "us-east-1b"]),
    );

    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain(
      "subnet subnet-0a1b2c3d4e5f6003 is in us-east-1b",
    );
    expect(problems[1]).toContain("add a subnet in us-east-1c");
  });

  test("two VPCs fail", () => {
    const subnets = describedSubnets();
    subnets[2]!.VpcId = "vpc-other";

    expect(checkSubnets(desired(), subnets)).toEqual([
      "the subnets belong to 2 VPCs (vpc-0a1b2c3d, vpc-other); an EKS cluster's subnets must share one VPC",
    ]);
  });
});

describe("create requests", () => {
  test("token is stable for one request", () => {
    expect(createClusterInput(desired()).clientRequestToken).toBe(
      createClusterInput(desired()).clientRequestToken,
    );
  });

  test("token changes with the request", () => {
    const other = createClusterInput(desired({ kubernetesVersion: "1.32" }));

    expect(other.clientRequestToken).not.toBe(
      createClusterInput(desired()).clientRequestToken,
    );
  });

  test("node group and cluster tokens differ", () => {
    expect(createNodegroupInput(desired()).clientRequestToken).not.toBe(
      createClusterInput(desired()).clientRequestToken,
    );
  });
});
