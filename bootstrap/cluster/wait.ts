import {
  waitUntilClusterActive,
  waitUntilNodegroupActive,
  type Cluster,
  type EKSClient,
  type Nodegroup,
} from "@aws-sdk/client-eks";
import { EXIT_PROBLEM, ToolError } from "../../tools/lib/errors.js";
import type { Logger } from "../../tools/lib/log.js";
import { describeAwsError, type AwsClients } from "./aws.js";
import { describeIssues } from "./compare.js";

/** Delays of the SDK waiters, in seconds. */
export interface WaitSettings {
  minDelay: number;
  maxDelay: number;
  /** Maximum wait for one cluster or node group operation. */
  maxWaitTime: number;
}

/**
 * Creation takes 10 to 15 minutes per resource, so polls every 15 to 60
 * seconds show progress often enough, and 40 minutes leaves room for a slow
 * region before the command gives up.
 */
export const DEFAULT_WAIT: WaitSettings = {
  minDelay: 15,
  maxDelay: 60,
  maxWaitTime: 40 * 60,
};

export interface WaitContext {
  aws: AwsClients;
  settings: WaitSettings;
  logger: Logger;
  now: () => number;
}

/** Waits until the cluster is ACTIVE, logging its status and elapsed time. */
export async function waitForCluster(
  context: WaitContext,
  name: string,
): Promise<Cluster> {
  const label = `cluster ${name}`;
  const result = await waitWithProgress<Cluster>(context, {
    label,
    action: "eks:DescribeCluster",
    read: (output) => (output as { cluster?: Cluster }).cluster,
    // The SDK waiter already fails on these two.
    stopOn: new Set(["FAILED", "DELETING"]),
    run: (client, abortSignal) =>
      waitUntilClusterActive(
        { client, abortSignal, ...context.settings },
        { name },
      ),
  });
  return result;
}

/** Waits until the node group is ACTIVE, logging its status and elapsed time. */
export async function waitForNodegroup(
  context: WaitContext,
  clusterName: string,
  nodegroupName: string,
): Promise<Nodegroup> {
  return waitWithProgress<Nodegroup>(context, {
    label: `node group ${nodegroupName}`,
    action: "eks:DescribeNodegroup",
    read: (output) => (output as { nodegroup?: Nodegroup }).nodegroup,
    // The SDK waiter (client-eks 3.1178) fails only on CREATE_FAILED and
    // would poll the other failed states until it times out.
    stopOn: new Set(["CREATE_FAILED", "DELETING", "DELETE_FAILED", "DEGRADED"]),
    run: (client, abortSignal) =>
      waitUntilNodegroupActive(
        { client, abortSignal, ...context.settings },
        { clusterName, nodegroupName },
      ),
  });
}

interface Watched {
  status?: string;
  health?: {
    issues?: { code?: string; message?: string; resourceIds?: string[] }[];
  };
}

interface WaitOptions<T> {
  label: string;
  action: string;
  read: (output: unknown) => T | undefined;
  stopOn: Set<string>;
  run: (client: EKSClient, abortSignal: AbortSignal) => Promise<unknown>;
}

async function waitWithProgress<T extends Watched>(
  context: WaitContext,
  options: WaitOptions<T>,
): Promise<T> {
  const { logger, now } = context;
  const started = now();
  const controller = new AbortController();
  let last: T | undefined;
  let fatal: unknown;

  // The waiter treats every failed poll as "retry", so an expired
  // credential would poll until the timeout. Watching each response lets
  // the wait stop at once on a problem that waiting cannot fix.
  const client = watchSends(
    context.aws.eks,
    (output) => {
      last = options.read(output) ?? last;
      const status = last?.status ?? "UNKNOWN";
      logger.info(
        `${options.label}: ${status}, ${formatDuration(now() - started)} elapsed`,
      );
      if (options.stopOn.has(status)) controller.abort();
    },
    (error) => {
      const described = describeAwsError(error, options.action, context.aws);
      const notFound = (error as Error)?.name === "ResourceNotFoundException";
      if (described.exitCode !== EXIT_PROBLEM || notFound) {
        fatal = notFound ? error : described;
        controller.abort();
      }
    },
  );

  try {
    await options.run(client, controller.signal);
  } catch (error) {
    const elapsed = formatDuration(now() - started);
    if (fatal instanceof ToolError) throw fatal;
    if (fatal) {
      throw new ToolError(
        `${options.label} disappeared while waiting (${(fatal as Error).message}) after ${elapsed}; someone deleted it, run this command again to recreate it`,
        EXIT_PROBLEM,
        { cause: fatal },
      );
    }
    const status = last?.status ?? "UNKNOWN";
    if ((error as Error)?.name === "TimeoutError") {
      throw new ToolError(
        `timed out after ${elapsed} waiting for ${options.label} to become ACTIVE (last status ${status}); EKS keeps working on it, so run this command again to resume waiting`,
        EXIT_PROBLEM,
        { cause: error },
      );
    }
    const issues = describeIssues(last?.health?.issues);
    throw new ToolError(
      `${options.label} is ${status} after ${elapsed}${issues ? `: ${issues}` : " and EKS reports no health issue"}; fix the cause, delete it, then run this command again`,
      EXIT_PROBLEM,
      { cause: error },
    );
  }
  logger.info(
    `${options.label}: ACTIVE after ${formatDuration(now() - started)}`,
  );
  if (!last)
    throw new Error(
      `${options.label}: the waiter succeeded without a response`,
    );
  return last;
}

/**
 * Returns a view of `client` whose send reports every output and error.
 * The waiters only call send, and the view inherits everything else.
 */
function watchSends(
  client: EKSClient,
  onOutput: (output: unknown) => void,
  onError: (error: unknown) => void,
): EKSClient {
  const view = Object.create(client) as EKSClient;
  const send = async (command: unknown) => {
    try {
      const output: unknown = await client.send(command as never);
      onOutput(output);
      return output;
    } catch (error) {
      onError(error);
      throw error;
    }
  };
  view.send = send as EKSClient["send"];
  return view;
}

/** Formats milliseconds as "4m05s", or "12s" under a minute. */
export function formatDuration(milliseconds: number): string {
  const seconds = Math.max(0, Math.round(milliseconds / 1000));
  const minutes = Math.floor(seconds / 60);
  const rest = String(seconds % 60).padStart(2, "0");
  return minutes > 0 ? `${minutes}m${rest}s` : `${seconds}s`;
}
