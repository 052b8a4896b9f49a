import { createHash, createHmac } from "node:crypto";
import { describe, expect, test } from "vitest";
import {
  buildKubeConfig,
  createEksToken,
} from "../../bootstrap/cluster/token.js";

const CREDENTIALS = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  sessionToken: "session/token+value",
};
const DATE = new Date("2025-03-01T12:00:00Z");

function decode(token: string): URL {
  return new URL(
    Buffer.from(token.slice("k8s-aws-v1.".length), "base64url").toString(),
  );
}

/**
 * Recomputes the SigV4 query signature by the published algorithm, apart
 * from the SDK's signer, for the GET of `url` with the x-k8s-aws-id header.
 */
function expectedSignature(url: URL, clusterName: string): string {
  const query = [...url.searchParams.entries()]
    .filter(([key]) => key !== "X-Amz-Signature")
    .map(([key, value]) => [encode(key), encode(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
  const canonical = [
    "GET",
    "/",
    query,
    `host:${url.host}\nx-k8s-aws-id:${clusterName}\n`,
    "host;x-k8s-aws-id",
    createHash("sha256").update("").digest("hex"),
  ].join("\n");
  const scope = "20250301/us-east-1/sts/aws4_request";
  const toSign = [
    "AWS4-HMAC-SHA256",
    "20250301T120000Z",
    scope,
    createHash("sha256").update(canonical).digest("hex"),
  ].join("\n");
  let key: Buffer = Buffer.from(`AWS4${CREDENTIALS.secretAccessKey}`);
  for (const part of ["20250301", "us-east-1", "sts", "aws4_request"]) {
    key = createHmac("sha256", key).update(part).digest();
  }
  return createHmac("sha256", key).update(toSign).digest("hex");
}

function encode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

describe("createEksToken", () => {
  test("token is prefixed unpadded base64url", async () => {
    const token = await createEksToken(
      "dev-ory",
      "us-east-1",
      CREDENTIALS,
      DATE,
    );

    expect(token.startsWith("k8s-aws-v1.")).toBe(true);
    expect(token).toMatch(/^k8s-aws-v1\.[A-Za-z0-9_-]+$/);
  });

  test("URL presigns GetCallerIdentity for 60 s", async () => {
    const url = decode(
      await createEksToken("dev-ory", "us-east-1", CREDENTIALS, DATE),
    );

    expect(url.origin).toBe("https://sts.us-east-1.amazonaws.com");
    expect(url.searchParams.get("Action")).toBe("GetCallerIdentity");
    expect(url.searchParams.get("Version")).toBe("2011-06-15");
    expect(url.searchParams.get("X-Amz-Expires")).toBe("60");
    expect(url.searchParams.get("X-Amz-Date")).toBe("20250301T120000Z");
    expect(url.searchParams.get("X-Amz-Security-Token")).toBe(
      CREDENTIALS.sessionToken,
    );
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe(
      "host;x-k8s-aws-id",
    );
  });

  test("signature matches the SigV4 algorithm", async () => {
    const url = decode(
      await createEksToken("dev-ory", "us-east-1", CREDENTIALS, DATE),
    );

    expect(url.searchParams.get("X-Amz-Signature")).toBe(
      expectedSignature(url, "dev-ory"),
    );
  });

  test("cluster name is part of the signature", async () => {
    const url = decode(
      await createEksToken("dev-crdb", "us-east-1", CREDENTIALS, DATE),
    );

    expect(url.searchParams.get("X-Amz-Signature")).not.toBe(
      expectedSignature(url, "dev-ory"),
    );
    expect(url.searchParams.get("X-Amz-Signature")).toBe(
      expectedSignature(url, "dev-crdb"),
    );
  });
});

describe("buildKubeConfig", () => {
  test("context is named after the cluster", () => {
    const config = buildKubeConfig(
      {
        name: "dev-ory",
        endpoint: "https://ABC.gr7.us-east-1.eks.amazonaws.com",
        certificateAuthority: { data: "Q0E=" },
      },
      "k8s-aws-v1.abc",
    );

    expect(config.getCurrentContext()).toBe("dev-ory");
    expect(config.getCurrentCluster()?.server).toBe(
      "https://ABC.gr7.us-east-1.eks.amazonaws.com",
    );
    expect(config.getCurrentCluster()?.caData).toBe("Q0E=");
    expect(config.getCurrentUser()?.token).toBe("k8s-aws-v1.abc");
  });

  test("cluster without endpoint is rejected", () => {
    expect(() => buildKubeConfig({ name: "dev-ory" }, "t")).toThrow(
      /no API endpoint or certificate authority/,
    );
  });
});
