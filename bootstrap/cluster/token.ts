import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { KubeConfig } from "@kubernetes/client-node";
import type { KubernetesClient } from "../../tools/lib/kubernetes.js";
import type { Cluster } from "@aws-sdk/client-eks";
// The signer the AWS SDK itself uses, pinned in package.json at the version
// the SDK installs. @smithy/types comes with it and is used for types only.
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentity } from "@smithy/types";
import { EXIT_PROBLEM, ToolError } from "../../tools/lib/errors.js";
import { describeAwsError, type AwsClients } from "./aws.js";

/** Prefix of every EKS bearer token, as aws-iam-authenticator defines it. */
const TOKEN_PREFIX = "k8s-aws-v1.";

/**
 * EKS accepts a token for 15 minutes after the URL was signed; the URL
 * itself states 60 seconds, as `aws eks get-token` does.
 */
const PRESIGN_SECONDS = 60;
const TOKEN_LIFETIME_MS = 15 * 60 * 1000;

/**
 * Builds the bearer token EKS accepts: the prefix, then the unpadded
 * base64url of an STS GetCallerIdentity URL presigned with the header
 * x-k8s-aws-id set to the cluster's name. Signing is local: no request
 * leaves the machine.
 */
export async function createEksToken(
  clusterName: string,
  region: string,
  credentials: AwsCredentialIdentity,
  signingDate: Date = new Date(),
): Promise<string> {
  const hostname = `sts.${region}.${partitionDomain(region)}`;
  const signer = new SignatureV4({
    service: "sts",
    region,
    credentials,
    sha256: Sha256,
    uriEscapePath: true,
    applyChecksum: false,
  });
  const signed = await signer.presign(
    {
      method: "GET",
      protocol: "https:",
      hostname,
      path: "/",
      query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
      headers: { host: hostname, "x-k8s-aws-id": clusterName },
    },
    { expiresIn: PRESIGN_SECONDS, signingDate },
  );

  const url = new URL(`https://${hostname}/`);
  for (const [key, value] of Object.entries(signed.query ?? {})) {
    if (typeof value === "string") url.searchParams.set(key, value);
  }
  return TOKEN_PREFIX + Buffer.from(url.toString()).toString("base64url");
}

function partitionDomain(region: string): string {
  return region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
}

/** SHA-256 and HMAC-SHA-256 in the shape SignatureV4 expects, on node:crypto. */
class Sha256 {
  private readonly hash: Hash | Hmac;

  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash =
      secret === undefined
        ? createHash("sha256")
        : createHmac("sha256", toBuffer(secret));
  }

  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (ArrayBuffer.isView(data)) {
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  return Buffer.from(data);
}

/**
 * Builds an in-memory kubeconfig for an ACTIVE cluster: its endpoint, its
 * CA, and the token. The context is named after the cluster, as elsewhere
 * in this repository.
 */
export function buildKubeConfig(cluster: Cluster, token: string): KubeConfig {
  const name = cluster.name ?? "";
  const server = cluster.endpoint;
  const caData = cluster.certificateAuthority?.data;
  if (!server || !caData) {
    throw new ToolError(
      `cluster ${name} reports no API endpoint or certificate authority yet; run this command again once it is ACTIVE`,
      EXIT_PROBLEM,
    );
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name, server, caData, skipTLSVerify: false }],
    users: [{ name: `${name}-bootstrap`, token }],
    contexts: [{ name, cluster: name, user: `${name}-bootstrap` }],
    currentContext: name,
  });
  return kubeConfig;
}

/**
 * Returns a function that gives a Kubernetes client with a valid EKS token,
 * minting a new one well before the 15 minutes EKS accepts it for.
 */
export function kubernetesSession(options: {
  aws: AwsClients;
  cluster: Cluster;
  createClient: (kubeConfig: KubeConfig) => KubernetesClient;
  now: () => number;
}): () => Promise<KubernetesClient> {
  const { aws, cluster, createClient, now } = options;
  let client: KubernetesClient | undefined;
  let mintedAt = 0;
  return async () => {
    if (client && now() - mintedAt < TOKEN_LIFETIME_MS / 2) return client;
    let credentials;
    try {
      credentials = await aws.credentials();
    } catch (error) {
      throw describeAwsError(error, "sts:GetCallerIdentity", aws);
    }
    const token = await createEksToken(
      cluster.name ?? "",
      aws.region,
      credentials,
    );
    client = createClient(buildKubeConfig(cluster, token));
    mintedAt = now();
    return client;
  };
}
