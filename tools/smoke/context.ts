import type { EndpointName, Environment } from "../lib/environment.js";
import type { CleanupStack } from "./cleanup.js";
import type { OryApi } from "./http.js";
import type { SqlAccess } from "./sql.js";

/** State that the steps of every suite read and share during one run. */
export interface CheckContext {
  environment: Environment;
  runId: string;
  readOnly: boolean;
  /** The APIs of the selected services. */
  apis: Partial<Record<EndpointName, OryApi>>;
  sql: SqlAccess;
  /** False when `--only` leaves out sql. */
  sqlSelected: boolean;
  cleanup: CleanupStack;
  /** Environment variables, for fixture secrets. */
  variables: Record<string, string | undefined>;
}

/** Returns the API named `name`, which the command resolved before the run. */
export function api(context: CheckContext, name: EndpointName): OryApi {
  const found = context.apis[name];
  if (!found) throw new Error(`endpoint ${name} was not resolved`);
  return found;
}

/** Returns why the SQL steps of a service are skipped, or undefined. */
export function sqlSkipReason(context: CheckContext): string | undefined {
  if (!context.sqlSelected) return "sql is not selected by --only";
  return context.sql.skipReason();
}
