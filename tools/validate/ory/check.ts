import type { Environment } from "../../lib/environment.js";
import type { FindingSink } from "../findings.js";
import type { Locator } from "../locate.js";
import { getPath, type RenderedObject } from "../objects.js";
import type { SourceTree } from "../repository.js";
import { resolveRef } from "../schemas/index.js";
import {
  checkSchema,
  describeValue,
  formatPath,
  type FieldPath,
  type SchemaViolation,
} from "../structural-schema.js";
import { checkPlaintextCredentials } from "./credentials.js";
import { checkDatabaseRules } from "./database.js";
import { checkPolicyRules } from "./policy.js";
import { checkPromotionRules } from "./promotion.js";
import { buildOryContext, reportValue, type OryContext } from "./releases.js";
import { checkServiceRules } from "./services.js";
import { oryValuesSchema } from "./values-schema.js";

/**
 * Runs the Ory and CockroachDB rules. They fire only on HelmReleases of the
 * Ory and CockroachDB charts, so any other Flux repository is unaffected,
 * except for the credential rule, which reads every object and Secret file.
 */
export function checkOry(
  objects: RenderedObject[],
  environments: Environment[],
  sink: FindingSink,
  locator: Locator,
  tree: SourceTree,
  invalidModels = false,
): void {
  const context = buildOryContext(
    objects,
    environments,
    sink,
    locator,
    tree,
    invalidModels,
  );
  checkValuesSchemas(context);
  checkDatabaseRules(context);
  checkPlaintextCredentials(context);
  checkServiceRules(context);
  checkPolicyRules(context);
  checkPromotionRules(context);
}

function checkValuesSchemas(context: OryContext): void {
  for (const release of context.releases) {
    const violations: SchemaViolation[] = [];
    checkSchema(
      oryValuesSchema(release.service),
      release.values,
      resolveRef,
      violations,
    );
    for (const violation of violations) {
      const message = isSensitivePath(violation.path)
        ? hideValue(
            violation.message,
            getPath(release.values, ...violation.path.map(String)),
          )
        : violation.message;
      reportValue(context, release, violation.path, {
        rule: "ory-values-schema",
        severity: "error",
        message: `values.${formatPath(violation.path)}: ${message}${violation.unknownField ? `; the ${release.service} chart ignores it` : ""}`,
        fix: violation.unknownField
          ? "correct the key (see the chart's values.yaml) or remove it"
          : "correct the value's type",
      });
    }
  }
}

const SENSITIVE_KEY = /secret|password|token|dsn|connection_uri/i;

/**
 * True for values that may hold a credential: the Ory secrets, DSNs and
 * SMTP settings under `<service>.config`, extra environment variables, and
 * any key named like a secret.
 */
export function isSensitivePath(path: FieldPath): boolean {
  const keys = path.map(String);
  const config = keys.indexOf("config");
  if (config !== -1) {
    const below = keys.slice(config + 1).join(".");
    if (/^(secrets|dsn|courier\.smtp)(\.|$)/.test(below)) return true;
  }
  return keys.some((key) => key === "extraEnv" || SENSITIVE_KEY.test(key));
}

/**
 * Replaces a string value in a schema message by its type. The messages of
 * structural-schema.ts print a string through describeValue or, in pattern
 * messages, JSON.stringify; numbers and booleans are shown as they are.
 */
function hideValue(message: string, value: unknown): string {
  if (typeof value !== "string" || value === "") return message;
  return message
    .split(describeValue(value))
    .join("a string")
    .split(JSON.stringify(value))
    .join("the value");
}
