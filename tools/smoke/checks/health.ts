import { CheckFailure, type StepDefinition } from "../steps.js";
import { describeBody, expectStatus, type OryApi } from "../http.js";
import { redactSecrets } from "../redact.js";

/**
 * Checks `/health/alive`, then `/health/ready`. A 503 from ready carries
 * Ory's error map, which names the cause (the database, or migrations that
 * have not run), so the message shows it.
 */
export function healthStep(name: string, target: OryApi): StepDefinition {
  return {
    name,
    independent: true,
    run: async ({ signal }) => {
      const alive = await target.send("GET", "/health/alive", { signal });
      expectStatus(alive, [200]);
      const ready = await target.send("GET", "/health/ready", { signal });
      if (ready.status === 503) {
        throw new CheckFailure(
          `${ready.request} returned 503, not ready: ${describeErrorMap(ready.json) ?? describeBody(ready)}`,
        );
      }
      expectStatus(ready, [200]);
      return "alive and ready";
    },
  };
}

/** Reads the version from `GET /version`. */
export function versionStep(target: OryApi): StepDefinition {
  return {
    name: `version (${target.label})`,
    independent: true,
    run: async ({ signal }) => {
      const response = await target.send("GET", "/version", { signal });
      expectStatus(response, [200]);
      const version = (response.json as { version?: unknown })?.version;
      if (typeof version !== "string" || version === "") {
        throw new CheckFailure(
          `${response.request} returned no version: ${describeBody(response)}`,
          { retry: false },
        );
      }
      return version;
    },
  };
}

/** Formats `{"errors": {"database": "..."}}` as `database: ...; ...`. */
function describeErrorMap(body: unknown): string | undefined {
  const errors = (body as { errors?: unknown })?.errors;
  if (!errors || typeof errors !== "object") return undefined;
  // A cause such as a DSN can carry a password, so keys and values are
  // redacted before they are printed.
  const entries = Object.entries(
    redactSecrets(errors) as Record<string, unknown>,
  );
  if (entries.length === 0) return undefined;
  return entries
    .map(
      ([key, value]) =>
        `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`,
    )
    .join("; ");
}
