import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { DescribeSubnetsCommand, EC2Client } from "@aws-sdk/client-ec2";
import {
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  EKSClient,
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
} from "vitest";
import {
  ACCOUNT,
  activeCluster,
  activeNodegroup,
  describedSubnets,
  FAST,
  makeRepo,
  removeRepo,
  runCluster,
  writeFluxStandIn,
  type FixtureOptions,
} from "./helpers.js";
import {
  startClusterApiStandIn,
  type ClusterApiStandIn,
  type StandInOptions,
} from "./kubernetes-api.js";

const eks = mockClient(EKSClient);
const ec2 = mockClient(EC2Client);
const sts = mockClient(STSClient);

const GIT_TOKEN = "ghp_test0123456789abcdefSECRET";
const READY = {
  observedGeneration: 1,
  conditions: [
    {
      type: "Ready",
      status: "True",
      reason: "ReconciliationSucceeded",
      message: "Applied revision: main@sha1:0123abcd",
    },
  ],
};
const PROGRESSING = {
  conditions: [
    {
      type: "Ready",
      status: "Unknown",
      reason: "Progressing",
      message: "Reconciliation in progress",
    },
  ],
};

let repo: string;
let api: ClusterApiStandIn | undefined;

beforeEach(() => {
  eks.reset();
  ec2.reset();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({
    Account: ACCOUNT,
    Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/operator/session`,
  });
  ec2.on(DescribeSubnetsCommand).resolves({ Subnets: describedSubnets() });
  eks.on(DescribeNodegroupCommand).resolves({ nodegroup: activeNodegroup() });
});

afterEach(async () => {
  await api?.close();
  api = undefined;
  await removeRepo(repo);
});

afterAll(() => {
  eks.restore();
  ec2.restore();
  sts.restore();
});

/** Mocks an existing ACTIVE cluster whose API is the stand-in. */
async function prepare(
  fixture: FixtureOptions = {},
  standIn: StandInOptions = {},
) {
  repo = await makeRepo("dev-ory", fixture);
  api = await startClusterApiStandIn({
    kustomizationStatus: (reads) => (reads >= 3 ? READY : PROGRESSING),
    ...standIn,
  });
  eks.on(DescribeClusterCommand).resolves({
    cluster: activeCluster("dev-ory", {
      endpoint: api.url,
      certificateAuthority: { data: api.caData },
    }),
  });
  return api;
}

function run(
  argv: string[],
  environmentVariables: Record<string, string> = {},
) {
  return runCluster(["dev-ory", "--apply", ...argv], {
    repoRoot: repo,
    environmentVariables,
  });
}

/** "Kind namespace/name" of each server-side apply, in order. */
function appliedObjects(standIn: ClusterApiStandIn): string[] {
  return standIn.applies().map((request) => {
    const body = request.body as {
      kind: string;
      metadata: { name: string; namespace?: string };
    };
    return `${body.kind} ${body.metadata.namespace ? `${body.metadata.namespace}/` : ""}${body.metadata.name}`;
  });
}

describe("Flux hand-over", () => {
  test("committed components are applied in order", async () => {
    const standIn = await prepare();

    const { code, stdout } = await run([], { FLUX_GIT_TOKEN: GIT_TOKEN });

    expect(code).toBe(0);
    expect(appliedObjects(standIn)).toEqual([
      "Namespace flux-system",
      "CustomResourceDefinition gitrepositories.source.toolkit.fluxcd.io",
      "CustomResourceDefinition kustomizations.kustomize.toolkit.fluxcd.io",
      "ServiceAccount flux-system/source-controller",
      "ClusterRoleBinding cluster-reconciler-flux-system",
      "Deployment flux-system/source-controller",
      "NetworkPolicy flux-system/allow-egress",
      "Secret flux-system/flux-system",
      "GitRepository flux-system/flux-system",
      "Kustomization flux-system/flux-system",
    ]);
    expect(stdout).toContain(
      "Flux: installed from clusters/dev-ory/flux-system/gotk-components.yaml",
    );
    expect(stdout).toContain(
      "root Kustomization Ready (Applied revision: main@sha1:0123abcd)",
    );
  });

  test("applies are server-side with one field manager", async () => {
    const standIn = await prepare();

    await run([], { FLUX_GIT_TOKEN: GIT_TOKEN });

    const applies = standIn.applies();
    expect(applies.length).toBeGreaterThan(0);
    for (const request of applies) {
      expect(request.contentType).toBe("application/apply-patch+yaml");
      expect(request.query.fieldManager).toBe("bootstrap-cluster");
      expect(request.query.force).toBe("true");
    }
  });

  test("Git token reaches Secret only", async () => {
    const standIn = await prepare();

    const { stdout, logs } = await run(["--format", "json"], {
      FLUX_GIT_TOKEN: GIT_TOKEN,
    });

    const secret = standIn.objects.get("Secret/flux-system/flux-system")!;
    const data = secret.data as Record<string, string>;
    expect(Buffer.from(data.password!, "base64").toString()).toBe(GIT_TOKEN);
    expect(Buffer.from(data.username!, "base64").toString()).toBe("git");
    expect(stdout).not.toContain(GIT_TOKEN);
    expect(logs.join("\n")).not.toContain(GIT_TOKEN);
    expect(logs).toContain(
      "applied Secret flux-system/flux-system with the Git credentials from FLUX_GIT_TOKEN",
    );
  });

  test("API requests carry an EKS token", async () => {
    const standIn = await prepare();

    await run([], { FLUX_GIT_TOKEN: GIT_TOKEN });

    const header = standIn.requests[0]!.authorization!;
    const url = new URL(
      Buffer.from(
        header.slice("Bearer k8s-aws-v1.".length),
        "base64url",
      ).toString(),
    );
    expect(url.host).toBe("sts.us-east-1.amazonaws.com");
    expect(url.searchParams.get("Action")).toBe("GetCallerIdentity");
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe(
      "host;x-k8s-aws-id",
    );
  });

  test("flux CLI supplies missing components", async () => {
    const standIn = await prepare({ components: false });
    const bin = await writeFluxStandIn(repo);
    const argsLog = path.join(repo, "flux-args.log");

    const { code, stdout } = await run([], {
      FLUX_GIT_TOKEN: GIT_TOKEN,
      FLUX_ARGS_LOG: argsLog,
      PATH: `${bin}:/usr/bin:/bin`,
    });

    expect(code).toBe(0);
    expect((await readFile(argsLog, "utf8")).split("\n")).toEqual([
      "--version",
      "install --export --namespace=flux-system",
      "",
    ]);
    expect(stdout).toContain(
      "Flux: installed from flux install --export (flux version 2.6.4)",
    );
    expect(appliedObjects(standIn)).toContain(
      "Deployment flux-system/source-controller",
    );
  });

  test("missing flux CLI is one clear message", async () => {
    const standIn = await prepare({ components: false });

    const { code, stdout } = await run([], {
      FLUX_GIT_TOKEN: GIT_TOKEN,
      PATH: path.join(repo, "empty"),
    });

    expect(code).toBe(2);
    expect(stdout).toContain(
      "the flux CLI is not on PATH and clusters/dev-ory/flux-system/gotk-components.yaml is not committed",
    );
    expect(standIn.applies()).toHaveLength(0);
  });

  test("cluster running Flux is left alone", async () => {
    const standIn = await prepare(
      { components: false },
      {
        kustomizationStatus: () => undefined,
        preload: [
          {
            apiVersion: "apiextensions.k8s.io/v1",
            kind: "CustomResourceDefinition",
            metadata: { name: "kustomizations.kustomize.toolkit.fluxcd.io" },
            spec: {
              group: "kustomize.toolkit.fluxcd.io",
              names: { kind: "Kustomization", plural: "kustomizations" },
              scope: "Namespaced",
              versions: [{ name: "v1" }],
            },
          },
          {
            apiVersion: "kustomize.toolkit.fluxcd.io/v1",
            kind: "Kustomization",
            metadata: { name: "flux-system", namespace: "flux-system" },
            status: READY,
          },
        ],
      },
    );
    const argsLog = path.join(repo, "flux-args.log");
    const bin = await writeFluxStandIn(repo);

    const { code, stdout } = await run([], {
      FLUX_ARGS_LOG: argsLog,
      PATH: bin,
    });

    expect(code).toBe(0);
    expect(standIn.applies()).toHaveLength(0);
    expect(stdout).toContain(
      "Flux: present; Git credentials Secret untouched; root Kustomization Ready",
    );
    await expect(readFile(argsLog, "utf8")).rejects.toMatchObject({
      code: "ENOENT",
    });
  });

  test("running Flux is waited for", async () => {
    const standIn = await prepare(
      {},
      {
        kustomizationStatus: (reads) => (reads >= 2 ? READY : PROGRESSING),
        preload: [
          {
            apiVersion: "apiextensions.k8s.io/v1",
            kind: "CustomResourceDefinition",
            metadata: { name: "kustomizations.kustomize.toolkit.fluxcd.io" },
            spec: {
              group: "kustomize.toolkit.fluxcd.io",
              names: { kind: "Kustomization", plural: "kustomizations" },
              scope: "Namespaced",
              versions: [{ name: "v1" }],
            },
          },
          {
            apiVersion: "kustomize.toolkit.fluxcd.io/v1",
            kind: "Kustomization",
            metadata: { name: "flux-system", namespace: "flux-system" },
          },
        ],
      },
    );

    const { code, stdout } = await run([]);

    expect(code).toBe(0);
    expect(standIn.applies()).toHaveLength(0);
    expect(stdout).toContain("Flux: present");
    expect(stdout).toContain("root Kustomization Ready");
  });

  test("existing Secret is kept without credentials", async () => {
    const standIn = await prepare(
      {},
      {
        preload: [
          {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name: "flux-system" },
          },
          {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: "flux-system", namespace: "flux-system" },
            data: { password: "a2VwdA==" },
          },
        ],
      },
    );

    const { code, stdout } = await run([]);

    expect(code).toBe(0);
    expect(appliedObjects(standIn)).not.toContain(
      "Secret flux-system/flux-system",
    );
    expect(stdout).toContain("Git credentials Secret kept");
  });

  test("Kustomization never Ready times out", async () => {
    await prepare(
      {},
      {
        kustomizationStatus: () => PROGRESSING,
        gitRepositoryStatus: {
          conditions: [
            {
              type: "Ready",
              status: "False",
              reason: "GitOperationFailed",
              message: "authentication required",
            },
          ],
        },
      },
    );

    const { code, stdout } = await runCluster(["dev-ory", "--apply"], {
      repoRoot: repo,
      environmentVariables: { FLUX_GIT_TOKEN: GIT_TOKEN },
      fluxSettings: { ...FAST.fluxSettings, readyTimeout: 200 },
    });

    expect(code).toBe(1);
    expect(stdout).toContain(
      "waiting for Kustomization flux-system/flux-system to be Ready",
    );
    expect(stdout).toContain(
      "GitRepository flux-system/flux-system: Ready=False (GitOperationFailed): authentication required",
    );
  });

  test("identity without access names the fix", async () => {
    await prepare({}, { forbidden: true });

    const { code, stdout } = await run([], { FLUX_GIT_TOKEN: GIT_TOKEN });

    expect(code).toBe(2);
    expect(stdout).toContain("returned 403 to this AWS identity");
    expect(stdout).toContain(
      "aws eks create-access-entry --cluster-name dev-ory",
    );
  });

  test("deploy key rejected for HTTPS", async () => {
    repo = await makeRepo();
    const keyFile = path.join(repo, "deploy-key");
    await writeFile(
      keyFile,
      "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
    );

    await expect(
      runCluster(["dev-ory", "--apply", "--deploy-key", keyFile], {
        repoRoot: repo,
        environmentVariables: {
          FLUX_KNOWN_HOSTS: "github.com ssh-ed25519 AAAA",
        },
      }),
    ).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining("pulls over HTTPS"),
    });
    expect(sts.calls()).toHaveLength(0);
  });
});
