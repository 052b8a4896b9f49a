import { UsageError } from "../../tools/lib/errors.js";
import {
  environmentFile,
  ORY_SERVICES,
  type Environment,
  type OryService,
} from "../../tools/lib/environment.js";
import { APPLICATION_SECRETS, type DsnTarget } from "./credentials.js";

/** A Secret this command writes, with the keys it writes into it. */
export interface SecretTarget {
  name: string;
  namespace: string;
  keys: string[];
}

export interface ServiceTarget {
  service: OryService;
  database: string;
  user: string;
  secret: SecretTarget;
}

/** Databases, users and Secrets that one environment requires, checked. */
export interface Targets {
  services: ServiceTarget[];
  smoke: { user: string; secret: SecretTarget };
  /** The Secret holding CockroachDB's CA, or null when none is needed. */
  ca: (SecretTarget & { key: string }) | null;
  /** Host, port and TLS settings of the DSNs written into the Secrets. */
  dsn: Omit<DsnTarget, "database" | "scheme" | "poolLimits">;
  /** Problems that do not stop the run, shown in its result. */
  warnings: string[];
}

/**
 * Resolves the databases, users and Secrets of `environment`. Throws a
 * UsageError when two services share a name, or when a Secret that only
 * this command can fill is declared as provided by the team's own store and
 * no `--secrets-file` was given.
 */
export function resolveTargets(
  environment: Environment,
  options: { secretsFile: boolean },
): Targets {
  const file = environmentFile(environment.name);
  const warnings: string[] = [];
  const secret = (name: string, keys: string[]): SecretTarget => {
    const declared = environment.secrets.find((entry) => entry.name === name);
    if (declared?.createdBy === "external" && !options.secretsFile) {
      throw new UsageError(
        `${file}: Secret "${name}" is declared createdBy: external, but this command generates its values; ` +
          `pass --secrets-file PATH to write it for your secret store, or declare it createdBy: bootstrap-databases`,
      );
    }
    const missing = (declared?.keys ?? []).filter((key) => !keys.includes(key));
    if (missing.length > 0) {
      warnings.push(
        `${file}: Secret "${name}" declares keys ${missing.join(", ")}, which this command does not write; provide them another way`,
      );
    }
    return {
      name,
      namespace: declared?.namespace ?? environment.ory.namespace,
      keys,
    };
  };

  const services = ORY_SERVICES.map((service) => {
    const { database, user, secret: name } = environment.databases[service];
    const keys = ["dsn", ...Object.keys(APPLICATION_SECRETS[service])];
    return { service, database, user, secret: secret(name, keys) };
  });
  const smoke = {
    user: environment.smoke.sqlUser,
    secret: secret(environment.smoke.sqlSecret, ["dsn"]),
  };
  rejectDuplicates(
    file,
    "database",
    services.map((s) => s.database),
  );
  rejectDuplicates(file, "user", [...services.map((s) => s.user), smoke.user]);
  rejectDuplicates(file, "Secret", [
    ...services.map((s) => s.secret.name),
    smoke.secret.name,
  ]);

  return {
    services,
    smoke,
    ca: resolveCa(environment, warnings),
    dsn: resolveDsnSettings(environment),
    warnings,
  };
}

function resolveCa(
  environment: Environment,
  warnings: string[],
): Targets["ca"] {
  const reference = environment.cockroachdb.tls.caSecret;
  if (!reference) return null;
  const declared = environment.secrets.find(
    (entry) => entry.name === reference.name,
  );
  if (declared?.createdBy === "external") {
    warnings.push(
      `Secret "${reference.name}" (CockroachDB CA) is declared createdBy: external, so this command leaves it to your secret store`,
    );
    return null;
  }
  return {
    name: reference.name,
    namespace: declared?.namespace ?? environment.ory.namespace,
    keys: [reference.key],
    key: reference.key,
  };
}

/**
 * Outside dev every DSN verifies the server's certificate against the CA
 * mounted at cockroachdb.tls.caPath. Dev uses the model's TLS mode as is.
 */
function resolveDsnSettings(environment: Environment): Targets["dsn"] {
  const { host, port, tls } = environment.cockroachdb;
  if (environment.tier === "dev") {
    const verifies = tls.mode === "verify-ca" || tls.mode === "verify-full";
    return {
      host,
      port,
      sslMode: tls.mode,
      sslRootCert: verifies ? tls.caPath : null,
    };
  }
  if (!tls.caPath) {
    throw new UsageError(
      `${environmentFile(environment.name)}: cockroachdb.tls.caPath is null, but a ${environment.tier} DSN needs sslmode=verify-full with sslrootcert; set the path where Ory pods mount the CA`,
    );
  }
  return { host, port, sslMode: "verify-full", sslRootCert: tls.caPath };
}

function rejectDuplicates(file: string, kind: string, names: string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) {
      throw new UsageError(
        `${file}: ${kind} "${name}" is used twice; give each service and the smoke user its own`,
      );
    }
    seen.add(name);
  }
}
