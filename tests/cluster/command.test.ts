import { DescribeSubnetsCommand, EC2Client } from "@aws-sdk/client-ec2";
import {
  AccessDeniedException,
  CreateClusterCommand,
  CreateNodegroupCommand,
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  EKSClient,
  InvalidParameterException,
  ResourceInUseException,
  ResourceNotFoundException,
  TagResourceCommand,
  UnsupportedAvailabilityZoneException,
  UpdateClusterConfigCommand,
  UpdateClusterVersionCommand,
  UpdateNodegroupConfigCommand,
  UpdateNodegroupVersionCommand,
  type Cluster,
  type Nodegroup,
} from "@aws-sdk/client-eks";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import {
  afterAll,
  afterEach,
  beforeEach,
  describe,
  expect,
  test,
  vi,
} from "vitest";
import { createAwsClients } from "../../bootstrap/cluster/aws.js";
import {
  ACCOUNT,
  activeCluster,
  activeNodegroup,
  describedSubnets,
  fluxPresentClient,
  makeRepo,
  removeRepo,
  runCluster,
} from "./helpers.js";

const eks = mockClient(EKSClient);
const ec2 = mockClient(EC2Client);
const sts = mockClient(STSClient);

const MUTATING = [
  CreateClusterCommand,
  CreateNodegroupCommand,
  UpdateClusterConfigCommand,
  UpdateClusterVersionCommand,
  UpdateNodegroupConfigCommand,
  UpdateNodegroupVersionCommand,
  TagResourceCommand,
] as const;

const metadata = { $metadata: {} };
const notFound = () =>
  new ResourceNotFoundException({
    message: "No cluster found for name: dev-ory.",
    ...metadata,
  });

let repo: string;

beforeEach(async () => {
  eks.reset();
  ec2.reset();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({
    Account: ACCOUNT,
    Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/operator/session`,
  });
  ec2.on(DescribeSubnetsCommand).resolves({ Subnets: describedSubnets() });
  repo = await makeRepo();
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await removeRepo(repo);
});

afterAll(() => {
  eks.restore();
  ec2.restore();
  sts.restore();
});

function existing(cluster: Cluster, nodegroup: Nodegroup | null) {
  eks.on(DescribeClusterCommand).resolves({ cluster });
  if (nodegroup) eks.on(DescribeNodegroupCommand).resolves({ nodegroup });
  else eks.on(DescribeNodegroupCommand).rejects(notFound());
}

function run(argv: string[]) {
  return runCluster(argv, {
    repoRoot: repo,
    createKubernetesClient: fluxPresentClient,
  });
}

/** Names of the EKS commands that change something, in the order sent. */
function mutatingCalls(): string[] {
  const names = new Set<string>(MUTATING.map((command) => command.name));
  return eks
    .calls()
    .map((call) => (call.args[0] as object).constructor.name)
    .filter((name) => names.has(name));
}

describe("new cluster", () => {
  test("plan only lists both creates", async () => {
    eks.on(DescribeClusterCommand).rejects(notFound());

    const { code, stdout } = await run(["dev-ory"]);

    expect(code).toBe(0);
    expect(stdout).toContain("cluster dev-ory: create");
    expect(stdout).toContain("node group standard-workers: create");
    expect(stdout).toContain("Run again with --apply");
    expect(mutatingCalls()).toEqual([]);
    expect(eks.commandCalls(DescribeNodegroupCommand)).toHaveLength(0);
  });

  test("apply creates cluster then node group", async () => {
    eks
      .on(DescribeClusterCommand)
      .rejectsOnce(notFound())
      .resolvesOnce({
        cluster: activeCluster("dev-ory", { status: "CREATING" }),
      })
      .resolves({ cluster: activeCluster() });
    eks
      .on(CreateClusterCommand)
      .resolves({ cluster: activeCluster("dev-ory", { status: "CREATING" }) });
    eks
      .on(DescribeNodegroupCommand)
      .resolvesOnce({
        nodegroup: activeNodegroup("dev-ory", { status: "CREATING" }),
      })
      .resolves({ nodegroup: activeNodegroup() });
    eks.on(CreateNodegroupCommand).resolves({});

    const { code, stdout } = await run([
      "dev-ory",
      "--apply",
      "--git-token",
      "token-value",
    ]);

    expect(code).toBe(0);
    expect(mutatingCalls()).toEqual([
      "CreateClusterCommand",
      "CreateNodegroupCommand",
    ]);
    const cluster = eks.commandCalls(CreateClusterCommand)[0]!.args[0].input;
    expect(cluster.name).toBe("dev-ory");
    expect(cluster.version).toBe("1.33");
    expect(cluster.roleArn).toBe(
      `arn:aws:iam::${ACCOUNT}:role/dev-ory-eks-cluster`,
    );
    expect(cluster.resourcesVpcConfig?.subnetIds).toEqual([
      "subnet-0a1b2c3d4e5f6001",
      "subnet-0a1b2c3d4e5f6002",
      "subnet-0a1b2c3d4e5f6003",
    ]);
    expect(cluster.resourcesVpcConfig?.publicAccessCidrs).toEqual([
      "203.0.113.0/24",
    ]);
    expect(cluster.resourcesVpcConfig?.endpointPrivateAccess).toBe(true);
    expect(cluster.tags?.["managed-by"]).toBe("ory-crdb-gitops");
    expect(cluster.clientRequestToken).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);

    const group = eks.commandCalls(CreateNodegroupCommand)[0]!.args[0].input;
    expect(group.nodegroupName).toBe("standard-workers");
    expect(group.instanceTypes).toEqual(["m5.xlarge"]);
    expect(group.amiType).toBe("AL2023_x86_64_STANDARD");
    expect(group.scalingConfig).toEqual({
      minSize: 1,
      desiredSize: 3,
      maxSize: 4,
    });
    expect(group.subnets).toHaveLength(3);
    expect(group.nodeRole).toBe(
      `arn:aws:iam::${ACCOUNT}:role/dev-ory-eks-node`,
    );
    expect(stdout).toContain("done    createCluster dev-ory");
  });

  test("request token is stable across runs", async () => {
    eks.on(DescribeClusterCommand).rejects(notFound());
    eks
      .on(CreateClusterCommand)
      .rejects(
        new InvalidParameterException({ message: "stop here", ...metadata }),
      );

    const first = await run(["dev-ory", "--apply", "--git-token", "t"]);
    const second = await run(["dev-ory", "--apply", "--git-token", "t"]);

    expect(first.code).toBe(1);
    expect(second.code).toBe(1);
    const tokens = eks
      .commandCalls(CreateClusterCommand)
      .map((call) => call.args[0].input.clientRequestToken);
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toBe(tokens[1]);
  });

  test("crdb cluster keeps one node per zone", async () => {
    await removeRepo(repo);
    repo = await makeRepo("dev-crdb");
    eks.on(DescribeClusterCommand).rejects(notFound());

    const { code, stdout } = await run(["dev-crdb", "--format", "json"]);

    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.plan.nodegroup.steps[0].summary).toContain("(min 3, max 4)");
  });

  test("missing Git credentials stop before creating", async () => {
    eks.on(DescribeClusterCommand).rejects(notFound());

    await expect(run(["dev-ory", "--apply"])).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining("FLUX_GIT_TOKEN"),
    });
    expect(mutatingCalls()).toEqual([]);
  });
});

describe("existing cluster", () => {
  test("matching cluster has nothing to do", async () => {
    existing(activeCluster(), activeNodegroup());

    const { code, stdout } = await run(["dev-ory", "--apply"]);

    expect(code).toBe(0);
    expect(stdout).toContain("cluster dev-ory (ACTIVE): nothing to do");
    expect(stdout).toContain(
      "node group standard-workers (ACTIVE): nothing to do",
    );
    expect(stdout).toContain("Flux: present");
    expect(mutatingCalls()).toEqual([]);
  });

  test("scaling drift is fixed", async () => {
    eks.on(DescribeClusterCommand).resolves({ cluster: activeCluster() });
    eks
      .on(DescribeNodegroupCommand)
      .resolvesOnce({
        nodegroup: activeNodegroup("dev-ory", {
          scalingConfig: { minSize: 1, desiredSize: 2, maxSize: 3 },
        }),
      })
      .resolvesOnce({
        nodegroup: activeNodegroup("dev-ory", { status: "UPDATING" }),
      })
      .resolves({ nodegroup: activeNodegroup() });
    eks
      .on(UpdateNodegroupConfigCommand)
      .resolves({ update: { id: "u-1", status: "InProgress" } });

    const { code, stdout } = await run(["dev-ory", "--apply"]);

    expect(code).toBe(0);
    expect(stdout).toContain("scaling.desiredSize: 2 -> 3");
    expect(stdout).toContain("scaling.maxSize: 3 -> 4");
    expect(mutatingCalls()).toEqual(["UpdateNodegroupConfigCommand"]);
    const input = eks.commandCalls(UpdateNodegroupConfigCommand)[0]!.args[0]
      .input;
    expect(input.scalingConfig).toEqual({
      minSize: 1,
      maxSize: 4,
      desiredSize: 3,
    });
  });

  test("version drift is held without --upgrade", async () => {
    existing(
      activeCluster("dev-ory", { version: "1.32" }),
      activeNodegroup("dev-ory", { version: "1.32" }),
    );

    const { code, stdout } = await run(["dev-ory", "--apply"]);

    expect(code).toBe(0);
    expect(stdout).toContain("kubernetesVersion: 1.32 -> 1.33");
    expect(stdout).toContain("held    updateClusterVersion dev-ory");
    expect(stdout).toContain("held    updateNodegroupVersion standard-workers");
    expect(mutatingCalls()).toEqual([]);
  });

  test("version drift is upgraded with --upgrade", async () => {
    eks
      .on(DescribeClusterCommand)
      .resolvesOnce({ cluster: activeCluster("dev-ory", { version: "1.32" }) })
      .resolvesOnce({
        cluster: activeCluster("dev-ory", {
          status: "UPDATING",
          version: "1.32",
        }),
      })
      .resolves({ cluster: activeCluster() });
    eks
      .on(DescribeNodegroupCommand)
      .resolvesOnce({
        nodegroup: activeNodegroup("dev-ory", { version: "1.32" }),
      })
      .resolvesOnce({
        nodegroup: activeNodegroup("dev-ory", {
          status: "UPDATING",
          version: "1.32",
        }),
      })
      .resolves({ nodegroup: activeNodegroup() });
    eks.on(UpdateClusterVersionCommand).resolves({});
    eks.on(UpdateNodegroupVersionCommand).resolves({});

    const { code } = await run(["dev-ory", "--apply", "--upgrade"]);

    expect(code).toBe(0);
    expect(mutatingCalls()).toEqual([
      "UpdateClusterVersionCommand",
      "UpdateNodegroupVersionCommand",
    ]);
    expect(
      eks.commandCalls(UpdateClusterVersionCommand)[0]!.args[0].input.version,
    ).toBe("1.33");
    expect(
      eks.commandCalls(UpdateNodegroupVersionCommand)[0]!.args[0].input.version,
    ).toBe("1.33");
  });

  test("stuck CREATING waits until ACTIVE", async () => {
    eks
      .on(DescribeClusterCommand)
      .resolvesOnce({
        cluster: activeCluster("dev-ory", { status: "CREATING" }),
      })
      .resolvesOnce({
        cluster: activeCluster("dev-ory", { status: "CREATING" }),
      })
      .resolvesOnce({
        cluster: activeCluster("dev-ory", { status: "CREATING" }),
      })
      .resolves({ cluster: activeCluster() });
    eks.on(DescribeNodegroupCommand).resolves({ nodegroup: activeNodegroup() });

    const { code, stdout, logs } = await run(["dev-ory", "--apply"]);

    expect(code).toBe(0);
    expect(stdout).toContain("cluster dev-ory (CREATING): wait");
    expect(
      logs.filter((line) =>
        /^cluster dev-ory: CREATING, \d+s elapsed$/.test(line),
      ),
    ).toHaveLength(2);
    expect(logs).toContainEqual(
      expect.stringMatching(/^cluster dev-ory: ACTIVE after \d+s$/),
    );
    expect(mutatingCalls()).toEqual([]);
  });

  test("cluster create race compares", async () => {
    eks
      .on(DescribeClusterCommand)
      .rejectsOnce(notFound())
      .resolves({ cluster: activeCluster() });
    eks.on(CreateClusterCommand).rejects(
      new ResourceInUseException({
        message: "Cluster already exists with name: dev-ory",
        ...metadata,
      }),
    );
    eks.on(DescribeNodegroupCommand).resolves({ nodegroup: activeNodegroup() });

    const { code, stdout, logs } = await run([
      "dev-ory",
      "--apply",
      "--git-token",
      "t",
    ]);

    expect(code).toBe(0);
    expect(logs).toContain(
      "cluster dev-ory already exists; comparing it with clusters/dev-ory/cluster.yaml",
    );
    expect(stdout).toContain(
      "skipped createCluster dev-ory: it already existed",
    );
    expect(mutatingCalls()).toEqual(["CreateClusterCommand"]);
  });
  test("node group create race compares", async () => {
    eks.on(DescribeClusterCommand).resolves({ cluster: activeCluster() });
    eks
      .on(DescribeNodegroupCommand)
      .rejectsOnce(notFound())
      .resolves({ nodegroup: activeNodegroup() });
    eks.on(CreateNodegroupCommand).rejects(
      new ResourceInUseException({
        message: "NodeGroup already exists with name standard-workers",
        ...metadata,
      }),
    );

    const { code, stdout } = await run(["dev-ory", "--apply"]);

    expect(code).toBe(0);
    expect(stdout).toContain(
      "skipped createNodegroup standard-workers: it already existed",
    );
    expect(mutatingCalls()).toEqual(["CreateNodegroupCommand"]);
  });
});

describe("failed resources", () => {
  test("CREATE_FAILED node group reports health", async () => {
    existing(
      activeCluster(),
      activeNodegroup("dev-ory", {
        status: "CREATE_FAILED",
        health: {
          issues: [
            {
              code: "AsgInstanceLaunchFailures",
              message:
                "Could not launch On-Demand Instances. InsufficientInstanceCapacity",
              resourceIds: ["eks-standard-workers-asg"],
            },
          ],
        },
      }),
    );

    const { code, stdout } = await run(["dev-ory", "--apply"]);

    expect(code).toBe(1);
    expect(stdout).toContain(
      "AsgInstanceLaunchFailures: Could not launch On-Demand Instances",
    );
    expect(stdout).toContain("Flux: not run");
    expect(mutatingCalls()).toEqual([]);
  });

  test("cluster failing while created stops", async () => {
    eks
      .on(DescribeClusterCommand)
      .rejectsOnce(notFound())
      .resolves({
        cluster: activeCluster("dev-ory", {
          status: "FAILED",
          health: {
            issues: [
              {
                code: "Ec2SubnetNotFound",
                message: "subnet-0a1b2c3d4e5f6003 was deleted",
              },
            ],
          },
        }),
      });
    eks.on(CreateClusterCommand).resolves({});

    const { code, stdout } = await run([
      "dev-ory",
      "--apply",
      "--git-token",
      "t",
    ]);

    expect(code).toBe(1);
    expect(stdout).toContain("failed  createCluster dev-ory");
    expect(stdout).toContain(
      "Ec2SubnetNotFound: subnet-0a1b2c3d4e5f6003 was deleted",
    );
    expect(mutatingCalls()).toEqual(["CreateClusterCommand"]);
  });

  test("wait that never ends times out", async () => {
    existing(activeCluster("dev-ory", { status: "CREATING" }), null);

    const { code, stdout } = await runCluster(["dev-ory", "--apply"], {
      repoRoot: repo,
      createKubernetesClient: fluxPresentClient,
      waitSettings: { minDelay: 0.01, maxDelay: 0.02, maxWaitTime: 0.1 },
    });

    expect(code).toBe(1);
    expect(stdout).toMatch(
      /timed out after \d+s waiting for cluster dev-ory to become ACTIVE \(last status CREATING\)/,
    );
    expect(stdout).toContain("skipped createNodegroup standard-workers");
    expect(mutatingCalls()).toEqual([]);
  });

  test("DELETING cluster is blocked", async () => {
    existing(activeCluster("dev-ory", { status: "DELETING" }), null);

    const { code, stdout } = await run(["dev-ory"]);

    expect(code).toBe(1);
    expect(stdout).toContain("cluster dev-ory (DELETING): blocked");
  });

  test("unsupported zone names valid zones", async () => {
    eks.on(DescribeClusterCommand).rejects(notFound());
    eks.on(CreateClusterCommand).rejects(
      new UnsupportedAvailabilityZoneException({
        message:
          "Cannot create cluster because us-east-1c does not have sufficient capacity",
        validZones: ["us-east-1a", "us-east-1b", "us-east-1d"],
        ...metadata,
      }),
    );

    const { code, stdout } = await run([
      "dev-ory",
      "--apply",
      "--git-token",
      "t",
    ]);

    expect(code).toBe(2);
    expect(stdout).toContain("us-east-1a, us-east-1b, us-east-1d");
  });
});

describe("usage and credentials", () => {
  test("unknown subnet names the file", async () => {
    ec2
      .on(DescribeSubnetsCommand)
      .rejects(
        Object.assign(
          new Error("The subnet ID 'subnet-0a1b2c3d4e5f6003' does not exist"),
          { name: "InvalidSubnetID.NotFound", ...metadata },
        ),
      );

    await expect(run(["dev-ory"])).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining(
        "clusters/dev-ory/cluster.yaml: The subnet ID 'subnet-0a1b2c3d4e5f6003' does not exist",
      ),
    });
  });

  test("subnets in two zones are rejected", async () => {
    ec2.on(DescribeSubnetsCommand).resolves({
      Subnets: describedSubnets(["us-east-1a", "us-east-1b", "us-east-1b"]),
    });

    const run1 = run(["dev-ory"]);

    await expect(run1).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining(
        "2 distinct zone(s) (us-east-1a, us-east-1b)",
      ),
    });
    await expect(run1).rejects.toMatchObject({
      message: expect.stringContaining(
        "subnet subnet-0a1b2c3d4e5f6003 is in us-east-1b",
      ),
    });
    expect(eks.calls()).toHaveLength(0);
  });

  test("missing credentials name the fix", async () => {
    // The real credential chain, with every source it reads emptied. IMDS
    // stays disabled and points at a closed loopback port in any case.
    vi.stubEnv("AWS_ACCESS_KEY_ID", undefined);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", undefined);
    vi.stubEnv("AWS_PROFILE", undefined);
    vi.stubEnv("AWS_CONFIG_FILE", `${repo}/no-config`);
    vi.stubEnv("AWS_SHARED_CREDENTIALS_FILE", `${repo}/no-credentials`);
    vi.stubEnv("AWS_WEB_IDENTITY_TOKEN_FILE", undefined);
    vi.stubEnv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", undefined);
    vi.stubEnv("AWS_CONTAINER_CREDENTIALS_FULL_URI", undefined);
    vi.stubEnv("AWS_EC2_METADATA_DISABLED", "true");
    vi.stubEnv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9");

    const outcome = runCluster(["dev-ory", "--profile", "operator"], {
      repoRoot: repo,
      createAwsClients: (options) => {
        // The real credential chain, with clients on a closed port.
        const real = createAwsClients(options);
        const config = {
          region: options.region,
          endpoint: "http://127.0.0.1:9",
          credentials: real.credentials,
        };
        return {
          ...real,
          eks: new EKSClient(config),
          ec2: new EC2Client(config),
          sts: new STSClient(config),
        };
      },
    });

    await expect(outcome).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(
        /^no usable AWS credentials .*--profile NAME.*aws sso login --profile operator/,
      ),
    });
    expect(sts.calls()).toHaveLength(0);
  });

  test("expired credentials name the fix", async () => {
    sts
      .on(GetCallerIdentityCommand)
      .rejects(
        Object.assign(
          new Error("The security token included in the request is expired"),
          { name: "ExpiredToken", ...metadata },
        ),
      );

    await expect(run(["dev-ory"])).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining("expired or invalid"),
    });
  });

  test("missing permission names the action", async () => {
    eks.on(DescribeClusterCommand).rejects(
      new AccessDeniedException({
        message: "User is not authorized to perform: eks:DescribeCluster",
        ...metadata,
      }),
    );

    await expect(run(["dev-ory"])).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining("Grant eks:DescribeCluster"),
    });
  });

  test("unreachable AWS exits 2", async () => {
    sts.on(GetCallerIdentityCommand).rejects(
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:443"), {
        code: "ECONNREFUSED",
      }),
    );

    await expect(run(["dev-ory"])).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining("cannot reach AWS in us-east-1"),
    });
  });

  test("other account is rejected", async () => {
    sts.on(GetCallerIdentityCommand).resolves({
      Account: "444455556666",
      Arn: "arn:aws:iam::444455556666:user/x",
    });

    await expect(run(["dev-ory"])).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining("account 444455556666"),
    });
    expect(eks.calls()).toHaveLength(0);
  });

  test("unknown cluster lists known ones", async () => {
    await expect(run(["staging-ory"])).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining("Known clusters: dev-ory"),
    });
  });
});
