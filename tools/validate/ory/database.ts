import type { OryService } from "../../lib/environment.js";
import { getPath } from "../objects.js";
import { closest, isPlainObject } from "../structural-schema.js";
import {
  isMemoryDsn,
  isSqliteDsn,
  parseDsn,
  poolParameterProblems,
  redactDsn,
} from "./dsn.js";
import {
  findSecret,
  reportObject,
  reportValue,
  valueAt,
  type OryContext,
  type OryRelease,
} from "./releases.js";

/** Keys each chart reads from its Secret when `secret.enabled` is false. */
export const SECRET_KEYS: Record<
  OryService,
  { required: string[]; optional: string[] }
> = {
  hydra: { required: ["dsn", "secretsSystem", "secretsCookie"], optional: [] },
  kratos: {
    required: ["dsn", "secretsDefault", "secretsCookie", "secretsCipher"],
    optional: ["smtpConnectionURI"],
  },
  keto: { required: ["dsn"], optional: [] },
};

interface EnvEntry {
  name?: unknown;
  value?: unknown;
  valueFrom?: unknown;
}

/** Returns the Secret name the chart reads, or undefined while the chart makes its own. */
export function chartSecretName(release: OryRelease): string | undefined {
  if (valueAt(release, "secret.enabled") !== false) return undefined;
  const override = valueAt(release, "secret.nameOverride");
  return typeof override === "string" && override !== ""
    ? override
    : release.releaseName;
}

export function checkDatabaseRules(context: OryContext): void {
  for (const release of context.releases) {
    checkDsnReaches(context, release, "deployment");
    if (valueAt(release, `${release.service}.automigration.enabled`) === true) {
      checkDsnReaches(context, release, "job");
    }
    checkSecretKeys(context, release);
    checkVisibleDsns(context, release);
  }
  checkCockroachSettings(context);
}

function extraEnvFor(
  release: OryRelease,
  workload: "deployment" | "job",
): { path: string; entries: EnvEntry[] } {
  const job = valueAt(release, "job.extraEnv");
  if (workload === "job" && Array.isArray(job))
    return { path: "job.extraEnv", entries: job as EnvEntry[] };
  const deployment = valueAt(release, "deployment.extraEnv");
  return {
    path: "deployment.extraEnv",
    entries: Array.isArray(deployment) ? (deployment as EnvEntry[]) : [],
  };
}

/**
 * Checks that the DSN reaches a workload: through the chart's own Secret
 * (config.dsn with secret.enabled), an existing Secret containing `dsn`, or
 * a DSN variable in the extra environment. For the migration Job,
 * job.extraEnv replaces deployment.extraEnv when it is set.
 */
function checkDsnReaches(
  context: OryContext,
  release: OryRelease,
  workload: "deployment" | "job",
): void {
  const rule = workload === "deployment" ? "ory-dsn-deployment" : "ory-dsn-job";
  const what =
    workload === "deployment" ? "the Deployment" : "the migration Job";
  const { path, entries } = extraEnvFor(release, workload);
  const index = entries.findIndex(
    (entry) => isPlainObject(entry) && entry.name === "DSN",
  );
  if (index !== -1) {
    const entry = entries[index]!;
    const reference = getPath(entry.valueFrom, "secretKeyRef");
    if (isPlainObject(reference) && typeof reference.name === "string") {
      const key = typeof reference.key === "string" ? reference.key : "";
      const secret = findSecret(context, release, reference.name);
      if (secret && !secret.keys.has(key) && reference.optional !== true) {
        reportValue(
          context,
          release,
          [...path.split("."), index, "valueFrom"],
          {
            rule,
            severity: "error",
            message: `${what} reads DSN from key "${key}" of Secret ${reference.name}, which has only ${[...secret.keys].join(", ") || "no keys"}`,
            fix: `point secretKeyRef.key at the key that holds the DSN, or add "${key}" to the Secret (and to its declaration in the environment model)`,
          },
        );
      } else if (!secret && !release.secretsUnknown) {
        reportValue(
          context,
          release,
          [...path.split("."), index, "valueFrom"],
          {
            rule,
            severity: "error",
            message: `${what} reads DSN from Secret ${release.namespace}/${reference.name}, which neither git nor the environment model provides`,
            fix: "declare the Secret under secrets in environments/<env>/environment.yaml (bootstrap databases creates it), or fix the name",
          },
        );
      }
    }
    return;
  }

  const secretName = chartSecretName(release);
  if (secretName === undefined) {
    const dsn = valueAt(release, `${release.service}.config.dsn`);
    if (typeof dsn === "string" && dsn !== "") return;
  } else {
    const secret = findSecret(context, release, secretName);
    if (secret?.keys.has("dsn")) return;
    if (secret) {
      reportValue(context, release, "secret.nameOverride", {
        rule,
        severity: "error",
        message: `${what} gets no database: Secret ${secretName} has no "dsn" key (it has ${[...secret.keys].join(", ") || "none"})`,
        fix: `add the key "dsn" to Secret ${secretName}; \`npm run bootstrap -- databases <env>\` writes it`,
      });
      return;
    }
  }
  if (release.valuesIncomplete || release.secretsUnknown) return;
  reportValue(context, release, secretName === undefined ? "" : "secret", {
    rule,
    severity: "error",
    message:
      secretName === undefined
        ? `${what} gets no database: ${release.service}.config.dsn is unset, secret.enabled is not false, and ${path} has no DSN`
        : `${what} gets no database: Secret ${release.namespace}/${secretName} is neither in git nor declared in the environment model, and ${path} has no DSN`,
    fix: `set secret.enabled: false with secret.nameOverride naming a Secret that holds "dsn" (declared in the environment model), or add DSN to ${path} from a secretKeyRef`,
  });
}

function checkSecretKeys(context: OryContext, release: OryRelease): void {
  const name = chartSecretName(release);
  if (name === undefined) return;
  const secret = findSecret(context, release, name);
  if (!secret) return;
  const { required, optional } = SECRET_KEYS[release.service];
  const known = [...required, ...optional];
  const location = (report: Parameters<typeof reportValue>[3]) =>
    secret.object
      ? reportObject(context, secret.object, ["metadata", "name"], report)
      : reportValue(context, release, "secret.nameOverride", report);
  for (const key of secret.keys) {
    if (known.includes(key)) continue;
    const suggestion = closest(key, known);
    if (!suggestion) continue;
    location({
      rule: "ory-secret-unknown-key",
      severity: "error",
      message: `Secret ${name} has key "${key}", which the ${release.service} chart never reads; it reads "${suggestion}"`,
      fix: `rename the key to "${suggestion}" (in the environment model's declaration and in the Secret itself)`,
    });
  }
  // dsn has its own rule with the workload in the message.
  const missing = required.filter(
    (key) => key !== "dsn" && !secret.keys.has(key),
  );
  if (missing.length === 0) return;
  location({
    rule: "ory-secret-keys",
    severity: "error",
    message: `Secret ${name} lacks ${missing.map((key) => `"${key}"`).join(", ")}, which the ${release.service} chart mounts without optional: the pods stay in CreateContainerConfigError`,
    fix: `add ${missing.join(", ")} to the Secret; \`npm run bootstrap -- databases <env>\` generates them once`,
  });
}

/** Lists every DSN written in git: the config's, and DSN values in extra environments. */
function visibleDsns(
  release: OryRelease,
): { path: (string | number)[]; dsn: string }[] {
  const found: { path: (string | number)[]; dsn: string }[] = [];
  const configDsn = valueAt(release, `${release.service}.config.dsn`);
  if (typeof configDsn === "string" && configDsn !== "") {
    found.push({ path: [release.service, "config", "dsn"], dsn: configDsn });
  }
  for (const path of ["deployment.extraEnv", "job.extraEnv"]) {
    const entries = valueAt(release, path);
    if (!Array.isArray(entries)) continue;
    entries.forEach((entry, index) => {
      if (
        isPlainObject(entry) &&
        entry.name === "DSN" &&
        typeof entry.value === "string"
      ) {
        found.push({
          path: [...path.split("."), index, "value"],
          dsn: entry.value,
        });
      }
    });
  }
  return found;
}

function checkVisibleDsns(context: OryContext, release: OryRelease): void {
  const expectedDatabase =
    release.environment?.databases[release.service].database;
  // A password in a DSN is reported by the plaintext credential rule.
  for (const { path, dsn } of visibleDsns(release)) {
    if (isMemoryDsn(dsn) || isSqliteDsn(dsn)) {
      checkLocalDatabase(context, release, path, dsn);
      continue;
    }
    const parsed = parseDsn(dsn);
    if (!parsed) continue;
    const cockroach =
      release.environment !== undefined || parsed.port === "26257";
    if (cockroach && parsed.scheme !== "cockroach") {
      reportValue(context, release, path, {
        rule: "ory-dsn-scheme",
        severity: "error",
        message: `the DSN uses ${parsed.scheme}:// against CockroachDB (${redactDsn(dsn)}): Ory then runs the PostgreSQL migrations and loses CockroachDB's transaction retries`,
        fix: "start the DSN with cockroach://",
      });
    }
    if (expectedDatabase && parsed.database !== expectedDatabase) {
      reportValue(context, release, path, {
        rule: "ory-dsn-database",
        severity: "error",
        message: `the ${release.service} DSN names database "${parsed.database}", not "${expectedDatabase}" from the environment model`,
        fix: `use /${expectedDatabase} in the DSN, so each service keeps its own tables`,
      });
    }
    for (const problem of poolParameterProblems(parsed.params)) {
      reportValue(context, release, path, {
        rule: "ory-dsn-pool",
        severity: "error",
        message: `DSN pool parameter ${problem}; Ory fails to start`,
        fix: "use whole numbers for max_conns and max_idle_conns and Go durations for max_conn_lifetime",
      });
    }
  }
}

/**
 * Reports Keto outside dev without the shared database. In memory every
 * restart loses the relation tuples, and SQLite keeps them on one pod's
 * disk, so each replica reads its own copy.
 */
function checkLocalDatabase(
  context: OryContext,
  release: OryRelease,
  path: (string | number)[],
  dsn: string,
): void {
  if (release.service !== "keto" || release.tier === "dev") return;
  reportValue(context, release, path, {
    rule: "keto-memory-dsn",
    severity: "error",
    message: isMemoryDsn(dsn)
      ? `keto uses an in-memory database (${redactDsn(dsn)}) in the ${release.tier} tier: every relation tuple is lost when a pod restarts, and each replica sees different tuples`
      : `keto uses SQLite (${redactDsn(dsn)}) in the ${release.tier} tier: SQLite keeps the relation tuples on one pod's disk, so each replica answers from its own copy and a rescheduled pod starts empty`,
    fix: "remove keto.config.dsn so the DSN comes from the keto Secret",
  });
}

function checkCockroachSettings(context: OryContext): void {
  const hosts = new Map<string, string>();
  for (const environment of context.environments) {
    const file = `environments/${environment.name}/environment.yaml`;
    const tls = environment.cockroachdb.tls;
    if (
      environment.tier !== "dev" &&
      (tls.mode !== "verify-full" ||
        tls.caSecret === null ||
        tls.caPath === null)
    ) {
      context.sink.add({
        rule: "crdb-tls",
        severity: "error",
        ...context.locator.locateInFile(file, ["cockroachdb", "tls"]),
        message: `cockroachdb.tls in the ${environment.tier} tier is mode ${tls.mode}${tls.caSecret === null ? " without a CA Secret" : ""}${tls.caPath === null ? " without a CA path" : ""}; anything on the path can read or alter database traffic`,
        fix: "set mode: verify-full, caSecret to the Secret holding the cluster CA, and caPath to where the Ory pods mount it",
      });
    }
    const host = environment.cockroachdb.host.toLowerCase();
    const other = hosts.get(host);
    if (other !== undefined) {
      context.sink.add({
        rule: "crdb-host-shared",
        severity: "error",
        ...context.locator.locateInFile(file, ["cockroachdb", "host"]),
        message: `environments ${other} and ${environment.name} both use CockroachDB host ${host}: a change tested in one writes to the other's data`,
        fix: "give each environment its own CockroachDB cluster and DNS name",
      });
    } else {
      hosts.set(host, environment.name);
    }
  }
}
