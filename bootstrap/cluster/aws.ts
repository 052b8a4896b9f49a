import { EC2Client } from "@aws-sdk/client-ec2";
import { EKSClient } from "@aws-sdk/client-eks";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
} from "@smithy/types";
import {
  EXIT_CANNOT_START,
  EXIT_PROBLEM,
  ToolError,
  UsageError,
} from "../../tools/lib/errors.js";

/**
 * The AWS side effects of `bootstrap cluster`: one client per service and
 * the credential provider they share. Tests build it with mocked clients.
 */
export interface AwsClients {
  region: string;
  /** Profile from --profile, for messages; undefined for the default chain. */
  profile: string | undefined;
  eks: EKSClient;
  ec2: EC2Client;
  sts: STSClient;
  credentials: AwsCredentialIdentityProvider;
}

export interface AwsClientOptions {
  region: string;
  profile?: string;
}

/** Builds the clients on the SDK's standard credential chain. */
export function createAwsClients(options: AwsClientOptions): AwsClients {
  const credentials = fromNodeProviderChain(
    options.profile ? { profile: options.profile } : {},
  );
  const config = { region: options.region, credentials };
  return {
    region: options.region,
    profile: options.profile,
    eks: new EKSClient(config),
    ec2: new EC2Client(config),
    sts: new STSClient(config),
    credentials,
  };
}

/** The owner of the credentials, from STS GetCallerIdentity. */
export interface CallerIdentity {
  account: string;
  arn: string;
  credentials: AwsCredentialIdentity;
}

/**
 * Resolves the credentials and calls STS GetCallerIdentity with them. Every credential
 * problem surfaces here, before any EKS or EC2 call.
 */
export async function readCallerIdentity(
  aws: AwsClients,
): Promise<CallerIdentity> {
  let credentials: AwsCredentialIdentity;
  try {
    credentials = await aws.credentials();
  } catch (error) {
    throw describeAwsError(error, "sts:GetCallerIdentity", aws);
  }
  try {
    const output = await aws.sts.send(new GetCallerIdentityCommand({}));
    return {
      account: output.Account ?? "",
      arn: output.Arn ?? "",
      credentials,
    };
  } catch (error) {
    throw describeAwsError(error, "sts:GetCallerIdentity", aws);
  }
}

/** Error names (or codes) AWS services use for missing or stale credentials. */
const REJECTED_CREDENTIALS = new Set([
  "ExpiredToken",
  "ExpiredTokenException",
  "RequestExpired",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "SignatureDoesNotMatch",
  "AuthFailure",
]);

const DENIED = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "UnauthorizedException",
]);

/** Node.js socket and DNS error codes that mean the endpoint was not reached. */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ENETUNREACH",
  "EHOSTUNREACH",
]);

/**
 * Turns an AWS SDK error into a ToolError that names what to fix.
 * `action` is the IAM action of the failed call, e.g. eks:DescribeCluster.
 * Exit 2 for credentials, permissions, an unsupported zone and an endpoint
 * that cannot be reached; exit 1 for anything else the service rejects.
 * Any other error is a bug, and is rethrown as it is to keep its stack.
 */
export function describeAwsError(
  error: unknown,
  action: string,
  aws: Pick<AwsClients, "region" | "profile">,
): ToolError {
  if (error instanceof ToolError) return error;
  const name = (error as Error)?.name ?? "";
  const code = (error as { code?: string })?.code ?? "";
  const message = (error as Error)?.message ?? String(error);
  const profile = aws.profile ? ` --profile ${aws.profile}` : "";
  const cause = { cause: error };

  if (name === "CredentialsProviderError" || name === "TokenProviderError") {
    return new UsageError(
      `no usable AWS credentials (${message}). Pass --profile NAME or set AWS_PROFILE to a profile of ~/.aws/config, ` +
        `run "aws sso login${profile}" when that profile uses IAM Identity Center, ` +
        `or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
      cause,
    );
  }
  if (REJECTED_CREDENTIALS.has(name) || REJECTED_CREDENTIALS.has(code)) {
    return new UsageError(
      `AWS rejected the credentials for ${action} (${name}: ${message}); they are expired or invalid. ` +
        `Refresh them (for example "aws sso login${profile}") and retry`,
      cause,
    );
  }
  if (DENIED.has(name) || DENIED.has(code)) {
    return new UsageError(
      `permission denied: the AWS identity lacks ${action} (${message}). ` +
        `Grant ${action} to it in IAM, or pick a profile that has it with --profile`,
      cause,
    );
  }
  if (name === "UnsupportedAvailabilityZoneException") {
    const valid = (error as { validZones?: string[] }).validZones ?? [];
    return new UsageError(
      `${action} failed: ${message}. EKS supports these zones for this account: ${valid.join(", ") || "(not reported)"}; ` +
        `move the cluster's subnets and the environment's aws.zones to supported zones`,
      cause,
    );
  }
  if (isUnreachable(error)) {
    return new ToolError(
      `cannot reach AWS in ${aws.region} for ${action} (${code || name}: ${message}); check the network path, proxy settings and region`,
      EXIT_CANNOT_START,
      cause,
    );
  }
  if (!(error as { $metadata?: unknown })?.$metadata) throw error;
  return new ToolError(
    `${action} failed: ${name || "error"}: ${message}`,
    EXIT_PROBLEM,
    cause,
  );
}

function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  if (code && UNREACHABLE.has(code)) return true;
  const nested = (error as { cause?: unknown })?.cause;
  const nestedCode = (nested as { code?: string })?.code;
  if (nestedCode && UNREACHABLE.has(nestedCode)) return true;
  // The SDK's request handler names its socket and connection timeouts so;
  // a service's own error always carries an HTTP status in $metadata.
  const name = (error as Error)?.name;
  const status = (error as { $metadata?: { httpStatusCode?: number } })
    ?.$metadata?.httpStatusCode;
  return (name === "TimeoutError" || name === "RequestTimeout") && !status;
}

/** Checks whether an SDK error has the given service error name. */
export function isAwsError(error: unknown, name: string): boolean {
  return (error as Error)?.name === name;
}
