import type { Environment } from "../../lib/environment.js";
import type { FindingSink } from "../findings.js";
import type { Locator } from "../locate.js";
import type { RenderedObject } from "../objects.js";
import { resolveRef } from "../schemas/index.js";
import {
  checkSchema,
  formatPath,
  type SchemaViolation,
} from "../structural-schema.js";
import { checkDatabaseRules } from "./database.js";
import { checkPolicyRules } from "./policy.js";
import { buildOryContext, reportValue, type OryContext } from "./releases.js";
import { checkServiceRules } from "./services.js";
import { oryValuesSchema } from "./values-schema.js";

/**
 * Runs the Ory and CockroachDB rules. They fire only on HelmReleases of the
 * Ory and CockroachDB charts, so any other Flux repository is unaffected.
 */
export function checkOry(
  objects: RenderedObject[],
  environments: Environment[],
  sink: FindingSink,
  locator: Locator,
  invalidModels = false,
): void {
  const context = buildOryContext(
    objects,
    environments,
    sink,
    locator,
    invalidModels,
  );
  checkValuesSchemas(context);
  checkDatabaseRules(context);
  checkServiceRules(context);
  checkPolicyRules(context);
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
      reportValue(context, release, violation.path, {
        rule: "ory-values-schema",
        severity: "error",
        message: `values.${formatPath(violation.path)}: ${violation.message}${violation.unknownField ? `; the ${release.service} chart ignores it` : ""}`,
        fix: violation.unknownField
          ? "correct the key (see the chart's values.yaml) or remove it"
          : "correct the value's type",
      });
    }
  }
}
