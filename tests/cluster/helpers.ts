import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  writeFile,
} from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { EC2Client } from "@aws-sdk/client-ec2";
import { EKSClient, type Cluster, type Nodegroup } from "@aws-sdk/client-eks";
import { STSClient } from "@aws-sdk/client-sts";
import { KubeConfig } from "@kubernetes/client-node";
import { parse, stringify } from "yaml";
import {
  main,
  type ClusterDependencies,
} from "../../bootstrap/cluster/command.js";
import type { AwsClients } from "../../bootstrap/cluster/aws.js";
import type { ExitCode } from "../../tools/lib/errors.js";
import { createLogger } from "../../tools/lib/log.js";
import type {
  KubernetesClient,
  KubernetesObject,
  ObjectReference,
} from "../../tools/lib/kubernetes.js";

const REPO_ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../..",
);

export const ACCOUNT = "111122223333";
export const REGION = "us-east-1";
export const ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"];
export const SUBNETS: Record<string, string> = {
  "us-east-1a": "subnet-0a1b2c3d4e5f6001",
  "us-east-1b": "subnet-0a1b2c3d4e5f6002",
  "us-east-1c": "subnet-0a1b2c3d4e5f6003",
};
export const TAGS = {
  environment: "dev",
  cluster: "dev-ory",
  "managed-by": "ory-crdb-gitops",
};

/** The dev-ory cluster.yaml of the fixture repository. */
export function orySpec(name = "dev-ory") {
  return {
    name,
    environment: "dev",
    role: name.endsWith("-crdb") ? "crdb" : "ory",
    kubernetesVersion: "1.33",
    clusterRoleArn: `arn:aws:iam::${ACCOUNT}:role/${name}-eks-cluster`,
    subnets: Object.fromEntries(ZONES.map((zone) => [zone, [SUBNETS[zone]]])),
    endpointAccess: {
      private: true,
      public: true,
      publicCidrs: ["203.0.113.0/24"],
    },
    tags: { ...TAGS, cluster: name },
    nodeGroup: {
      name: "standard-workers",
      instanceType: "m5.xlarge",
      amiType: "AL2023_x86_64_STANDARD",
      minSize: name.endsWith("-crdb") ? 3 : 1,
      desiredSize: 3,
      maxSize: 4,
      nodeRoleArn: `arn:aws:iam::${ACCOUNT}:role/${name}-eks-node`,
    },
  };
}

const SYNC = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m
  url: https://github.com/example-org/ory-crdb-gitops
  ref:
    branch: main
  secretRef:
    name: flux-system
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m
  path: ./clusters/CLUSTER
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`;

/** A small stand-in for Flux's gotk-components.yaml: the kinds it contains. */
export const COMPONENTS = `apiVersion: v1
kind: Namespace
metadata:
  name: flux-system
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gitrepositories.source.toolkit.fluxcd.io
spec:
  group: source.toolkit.fluxcd.io
  names: { kind: GitRepository, plural: gitrepositories, singular: gitrepository, listKind: GitRepositoryList }
  scope: Namespaced
  versions: [{ name: v1, served: true, storage: true, schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } } }]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: kustomizations.kustomize.toolkit.fluxcd.io
spec:
  group: kustomize.toolkit.fluxcd.io
  names: { kind: Kustomization, plural: kustomizations, singular: kustomization, listKind: KustomizationList }
  scope: Namespaced
  versions: [{ name: v1, served: true, storage: true, schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } } }]
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: source-controller
  namespace: flux-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: cluster-reconciler-flux-system
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }
subjects: [{ kind: ServiceAccount, name: kustomize-controller, namespace: flux-system }]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: source-controller
  namespace: flux-system
spec:
  replicas: 1
  selector: { matchLabels: { app: source-controller } }
  template:
    metadata: { labels: { app: source-controller } }
    spec: { containers: [{ name: manager, image: ghcr.io/fluxcd/source-controller:v1.6.0 }] }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-egress
  namespace: flux-system
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
`;

export interface FixtureOptions {
  /** Commit flux-system/gotk-components.yaml (default true). */
  components?: boolean;
  /** Replaces fields of the cluster.yaml. */
  spec?: Record<string, unknown>;
}

/** Writes a repository with the dev environment and one cluster folder. */
export async function makeRepo(
  cluster = "dev-ory",
  options: FixtureOptions = {},
): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), "bootstrap-cluster-"));
  // The fixture environment starts from the real dev model, so it keeps
  // passing the schema, and pins the facts these tests rely on.
  const model = parse(
    await readFile(
      path.join(REPO_ROOT, "environments/dev/environment.yaml"),
      "utf8",
    ),
  ) as Record<string, unknown>;
  model.name = "dev";
  model.aws = { region: REGION, zones: ZONES };
  model.clusters = { ory: "dev-ory", crdb: "dev-crdb" };
  await mkdir(path.join(root, "environments/dev"), { recursive: true });
  await writeFile(
    path.join(root, "environments/dev/environment.yaml"),
    stringify(model),
  );

  const folder = path.join(root, "clusters", cluster);
  await mkdir(path.join(folder, "flux-system"), { recursive: true });
  await writeFile(
    path.join(folder, "cluster.yaml"),
    stringify({ ...orySpec(cluster), ...options.spec }),
  );
  await writeFile(
    path.join(folder, "flux-system/gotk-sync.yaml"),
    SYNC.replace("CLUSTER", cluster),
  );
  if (options.components !== false) {
    await writeFile(
      path.join(folder, "flux-system/gotk-components.yaml"),
      COMPONENTS,
    );
  }
  return root;
}

/**
 * Writes a `flux` executable that appends its arguments to FLUX_ARGS_LOG
 * and prints COMPONENTS for `install --export`. Returns its folder.
 */
export async function writeFluxStandIn(folder: string): Promise<string> {
  const bin = path.join(folder, "bin");
  await mkdir(bin, { recursive: true });
  await writeFile(path.join(folder, "components.yaml"), COMPONENTS);
  const script = `#!/bin/sh
printf '%s\\n' "$*" >> "$FLUX_ARGS_LOG"
case "$1" in
  --version) echo "flux version 2.6.4" ;;
  install) cat "${path.join(folder, "components.yaml")}" ;;
  *) echo "unexpected arguments: $*" >&2; exit 1 ;;
esac
`;
  await writeFile(path.join(bin, "flux"), script);
  await chmod(path.join(bin, "flux"), 0o755);
  return bin;
}

export async function removeRepo(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}

/**
 * Real SDK clients pointed at a closed loopback port, so a call that
 * aws-sdk-client-mock does not intercept fails instead of leaving the host.
 */
export function testAwsClients(options: {
  region: string;
  profile?: string;
}): AwsClients {
  const config = {
    region: options.region,
    endpoint: "http://127.0.0.1:9",
    maxAttempts: 1,
    credentials: {
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
      secretAccessKey: "test-secret",
    },
  };
  return {
    region: options.region,
    profile: options.profile,
    eks: new EKSClient(config),
    ec2: new EC2Client(config),
    sts: new STSClient(config),
    credentials: async () => config.credentials,
  };
}

/** Fast waits: the SDK waiters poll every 10 to 20 ms. */
export const FAST: Pick<
  ClusterDependencies,
  "waitSettings" | "fluxSettings" | "sleep"
> = {
  waitSettings: { minDelay: 0.01, maxDelay: 0.02, maxWaitTime: 5 },
  fluxSettings: {
    pollInterval: 10,
    crdTimeout: 2_000,
    readyTimeout: 2_000,
    progressInterval: 500,
  },
  sleep: (milliseconds) =>
    new Promise((done) => setTimeout(done, milliseconds)),
};

export interface RunOutcome {
  code: ExitCode;
  stdout: string;
  logs: string[];
}

/** Runs the command in-process and captures stdout and the log lines. */
export async function runCluster(
  argv: string[],
  overrides: Partial<ClusterDependencies>,
): Promise<RunOutcome> {
  let stdout = "";
  const logs: string[] = [];
  const code = await main(argv, {
    createAwsClients: testAwsClients,
    environmentVariables: {},
    ...FAST,
    ...overrides,
    writeOutput: (text) => {
      stdout += text;
    },
    logger: createLogger("debug", (line) => logs.push(line)),
  });
  return { code, stdout, logs };
}

/** Returns an ACTIVE cluster that matches orySpec(name). */
export function activeCluster(
  name = "dev-ory",
  overrides: Partial<Cluster> = {},
): Cluster {
  const spec = orySpec(name);
  return {
    name,
    arn: `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/${name}`,
    status: "ACTIVE",
    version: "1.33",
    roleArn: spec.clusterRoleArn,
    endpoint: "https://127.0.0.1:9",
    // Any base64 will do: only the Flux tests connect, with their own CA.
    certificateAuthority: { data: "dGVzdA==" },
    resourcesVpcConfig: {
      subnetIds: Object.values(SUBNETS),
      endpointPublicAccess: true,
      endpointPrivateAccess: true,
      publicAccessCidrs: ["203.0.113.0/24"],
      vpcId: "vpc-0a1b2c3d",
    },
    tags: { ...spec.tags, "aws:cloudformation:stack-name": "ignored" },
    ...overrides,
  };
}

/** Returns an ACTIVE node group that matches orySpec(name). */
export function activeNodegroup(
  name = "dev-ory",
  overrides: Partial<Nodegroup> = {},
): Nodegroup {
  const spec = orySpec(name);
  return {
    nodegroupName: "standard-workers",
    nodegroupArn: `arn:aws:eks:${REGION}:${ACCOUNT}:nodegroup/${name}/standard-workers/0`,
    clusterName: name,
    status: "ACTIVE",
    version: "1.33",
    instanceTypes: ["m5.xlarge"],
    amiType: "AL2023_x86_64_STANDARD",
    nodeRole: spec.nodeGroup.nodeRoleArn,
    subnets: Object.values(SUBNETS),
    scalingConfig: {
      minSize: spec.nodeGroup.minSize,
      desiredSize: 3,
      maxSize: 4,
    },
    tags: spec.tags,
    ...overrides,
  };
}

/** Subnets as EC2 describes them; `zones` overrides each subnet's zone. */
export function describedSubnets(zones: string[] = ZONES) {
  return Object.values(SUBNETS).map((id, index) => ({
    SubnetId: id,
    AvailabilityZone: zones[index],
    VpcId: "vpc-0a1b2c3d",
  }));
}

/**
 * Returns a Kubernetes client for a cluster where Flux already runs and its root
 * Kustomization is Ready; it rejects every write.
 */
export function fluxPresentClient(): KubernetesClient {
  const ready = {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: "flux-system", namespace: "flux-system" },
    status: {
      conditions: [
        {
          type: "Ready",
          status: "True",
          message: "Applied revision: main@sha1:0123",
        },
      ],
    },
  };
  return {
    context: "fake",
    server: "https://127.0.0.1:9",
    kubeConfig: new KubeConfig(),
    async read<T extends KubernetesObject>(reference: ObjectReference) {
      if (reference.kind === "CustomResourceDefinition") {
        return {
          apiVersion: reference.apiVersion,
          kind: reference.kind,
          metadata: { name: reference.name },
        } as T;
      }
      return (reference.kind === "Kustomization" ? ready : null) as T | null;
    },
    async apply() {
      throw new Error(
        "this fake cluster already runs Flux; nothing may be applied",
      );
    },
  };
}
