import {
  ORY_SERVICES,
  type EndpointName,
  type Environment,
  type OryService,
} from "../lib/environment.js";
import type { Logger } from "../lib/log.js";
import { hydraSteps } from "./checks/hydra.js";
import { ketoSteps } from "./checks/keto.js";
import { kratosSteps } from "./checks/kratos.js";
import { sqlSteps } from "./checks/sql.js";
import { CleanupStack } from "./cleanup.js";
import type { CheckContext } from "./context.js";
import { OryApi, type HttpClient, type ResolvedEndpoint } from "./http.js";
import type { SqlAccess } from "./sql.js";
import {
  runChain,
  SUITES,
  type RetryPolicy,
  type StepDefinition,
  type StepResult,
  type StepRunOptions,
  type Suite,
} from "./steps.js";
import { sweepSteps } from "./sweep.js";

/** The endpoints each service's steps use. */
export const SERVICE_ENDPOINTS: Record<OryService, EndpointName[]> = {
  hydra: ["hydraPublic", "hydraAdmin"],
  kratos: ["kratosPublic", "kratosAdmin"],
  keto: ["ketoRead", "ketoWrite"],
};

const API_LABELS: Record<EndpointName, string> = {
  hydraPublic: "hydra public",
  hydraAdmin: "hydra admin",
  kratosPublic: "kratos public",
  kratosAdmin: "kratos admin",
  ketoRead: "keto read",
  ketoWrite: "keto write",
};

const SERVICE_STEPS: Record<
  OryService,
  (context: CheckContext) => StepDefinition[]
> = {
  hydra: hydraSteps,
  kratos: kratosSteps,
  keto: ketoSteps,
};

export interface RunInput {
  environment: Environment;
  runId: string;
  readOnly: boolean;
  suites: Suite[];
  endpoints: Partial<Record<EndpointName, ResolvedEndpoint>>;
  http: HttpClient;
  sql: SqlAccess;
  /** Leftovers of runs that started before this are swept first. */
  sweepCutoff: Date | undefined;
  policy: RetryPolicy;
  /** Retry policy of each cleanup action. */
  cleanupPolicy: RetryPolicy;
  variables: Record<string, string | undefined>;
  /** Aborted when the run is interrupted. */
  signal: AbortSignal;
  logger: Logger;
}

/**
 * Runs the selected suites in parallel, each as a chain of steps, then
 * deletes what they created, newest first. Returns the steps grouped by
 * suite, each suite's cleanup after its checks.
 */
export async function runSuites(input: RunInput): Promise<StepResult[]> {
  const cleanup = new CleanupStack();
  const apis: Partial<Record<EndpointName, OryApi>> = {};
  for (const [name, endpoint] of Object.entries(input.endpoints) as [
    EndpointName,
    ResolvedEndpoint,
  ][]) {
    apis[name] = new OryApi(API_LABELS[name], endpoint, input.http);
  }
  const context: CheckContext = {
    environment: input.environment,
    runId: input.runId,
    readOnly: input.readOnly,
    apis,
    sql: input.sql,
    sqlSelected: input.suites.includes("sql"),
    cleanup,
    variables: input.variables,
  };
  const options: StepRunOptions = {
    policy: input.policy,
    signal: input.signal,
    logger: input.logger,
  };

  const services = ORY_SERVICES.filter((service) =>
    input.suites.includes(service),
  );
  const chains: Promise<StepResult[]>[] = services.map(async (service) => {
    const cutoff = input.sweepCutoff;
    const swept = cutoff
      ? await runChain(service, sweepSteps(context, service, cutoff), options)
      : [];
    const checked = await runChain(
      service,
      SERVICE_STEPS[service](context),
      options,
    );
    return [...swept, ...checked];
  });
  if (context.sqlSelected) {
    // With --only sql alone, every service's database is checked.
    const databases = services.length > 0 ? services : [...ORY_SERVICES];
    chains.push(runChain("sql", sqlSteps(context, databases), options));
  }

  let checked: StepResult[] = [];
  let cleaned: StepResult[] = [];
  try {
    checked = (await Promise.all(chains)).flat();
  } finally {
    // Cleanup gets its own signal: after an interrupt the run's signal is
    // already aborted, and the deletes must still be sent.
    cleaned = await cleanup.runAll({
      policy: input.cleanupPolicy,
      signal: new AbortController().signal,
      logger: input.logger,
    });
    await input.sql.close();
  }
  return SUITES.flatMap((suite) => [
    ...checked.filter((step) => step.suite === suite),
    ...cleaned.filter((step) => step.suite === suite),
  ]);
}
