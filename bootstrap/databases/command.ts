import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  loggerFromFlag,
  parseCommandLine,
  readFormat,
} from "../../tools/lib/cli.js";
import { loadEnvironment } from "../../tools/lib/environment.js";
import {
  EXIT_OK,
  EXIT_PROBLEM,
  UsageError,
  type ExitCode,
} from "../../tools/lib/errors.js";
import { createKubernetesClient } from "../../tools/lib/kubernetes.js";
import type { Logger } from "../../tools/lib/log.js";
import {
  describeEndpoint,
  parseDsn,
  type ConnectionSettings,
} from "../../tools/lib/postgres.js";
import { AdminConnection } from "./admin.js";
import { checkAdminPrivileges } from "./admin-privileges.js";
import { applyPlan, type StepHook } from "./apply.js";
import { inspectServer } from "./inspect.js";
import {
  parseRegenerateAppSecrets,
  resolveRotationUsers,
  takeRotationRequest,
} from "./options.js";
import { buildPlan } from "./plan.js";
import { storedPasswordFor } from "./plan-secrets.js";
import { renderJson, renderText, type RunResult } from "./report.js";
import {
  fileSecretStore,
  kubernetesSecretStore,
  type SecretStore,
  type StoredSecret,
} from "./secret-store.js";
import { resolveTargets, type Targets } from "./targets.js";
import { verifyUsers } from "./verify.js";

export const USAGE = `Usage: npm run -s bootstrap -- databases <environment> [options]

Creates one database and one user per Ory service (Hydra, Kratos, Keto), a
read-only smoke-test user, and the Secrets that hold their DSNs and the Ory
application secrets. Without --apply it prints the plan and changes nothing.
Safe to rerun: a second run finds nothing to do. Use npm's -s (--silent), as
above, with --format json, because npm otherwise prints a banner on stdout.

Options:
  --admin-dsn URL       admin connection, e.g. postgresql://root@HOST:26257/defaultdb?sslmode=verify-full&sslrootcert=ca.crt
                        (default: the CRDB_ADMIN_DSN environment variable, which keeps it out of the process list);
                        percent-encode reserved characters in the password: % as %25, @ as %40, : as %3A, / as %2F
  --apply               carry out the plan, then verify as each user
  --rotate-passwords[=USERS]
                        give new passwords to USERS, a comma-separated list of users or services (e.g. hydra,ory_smoke),
                        or to every user when no list follows; a rerun finishes a rotation that stopped part-way
  --regenerate-app-secrets KEYS
                        generate missing Ory application secrets although the service's database or user exists;
                        KEYS is a comma-separated list of SERVICE.KEY or SERVICE, e.g. hydra.secretsSystem or kratos
  --secrets-file PATH   write the Secrets to PATH (YAML manifests, mode 0600) instead of the cluster;
                        relative to the folder npm was run in
  --repo DIR            repository to read environments/<environment>/environment.yaml from
                        (default: the repository this command belongs to)
  --kubeconfig FILE     kubeconfig with a context named after the Ory cluster (default: KUBECONFIG, then ~/.kube/config)
  --ca-cert FILE        CockroachDB's CA certificate (PEM) for the CA Secret (default: the admin DSN's sslrootcert)
  --format text|json    result format on stdout (default: text)
  --log-level LEVEL     debug, info, warn, error or silent (default: LOG_LEVEL, else info)
  -h, --help            show this help

Exit codes: 0 done or nothing to do; 1 a step or check failed, an item is
blocked, or a privilege breaks isolation; 2 usage, credentials, missing admin
privileges, or the database or Kubernetes API cannot be reached.`;

const OPTIONS = {
  "admin-dsn": { type: "string" },
  apply: { type: "boolean", default: false },
  "regenerate-app-secrets": { type: "string", multiple: true },
  "secrets-file": { type: "string" },
  repo: { type: "string" },
  kubeconfig: { type: "string" },
  "ca-cert": { type: "string" },
} as const;

/** Inputs the command reads from outside its arguments; tests replace them. */
export interface DatabasesDependencies {
  repoRoot: string;
  environmentVariables: Record<string, string | undefined>;
  writeOutput: (text: string) => void;
  /** Overrides the logger that --log-level selects. */
  logger?: Logger;
  beforeStep?: StepHook;
}

const defaults: DatabasesDependencies = {
  repoRoot: path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.."),
  environmentVariables: process.env,
  writeOutput: (text) => process.stdout.write(text),
};

/** Runs `bootstrap databases` with argv after the subcommand's name. */
export async function main(
  argv: string[],
  overrides: Partial<DatabasesDependencies> = {},
): Promise<ExitCode> {
  const deps = { ...defaults, ...overrides };
  const { parsed, rotation } = takeRotationRequest(argv, (rest) =>
    parseCommandLine(rest, OPTIONS, USAGE),
  );
  const { values, positionals } = parsed;
  if (values.help) {
    deps.writeOutput(USAGE + "\n");
    return EXIT_OK;
  }
  const format = readFormat(values.format, ["text", "json"]);
  const logger = deps.logger ?? loggerFromFlag(values["log-level"]);
  if (positionals.length !== 1) {
    throw new UsageError(
      `expected one environment name, got ${positionals.length}\n\n${USAGE}`,
    );
  }
  const dsnSource =
    values["admin-dsn"] !== undefined ? "--admin-dsn" : "CRDB_ADMIN_DSN";
  const dsn = values["admin-dsn"] ?? deps.environmentVariables.CRDB_ADMIN_DSN;
  if (!dsn) {
    throw new UsageError(
      "missing admin connection: pass --admin-dsn URL or set CRDB_ADMIN_DSN",
    );
  }
  // npm runs scripts from the package root, and INIT_CWD is the folder the
  // operator ran npm in, which relative paths on the command line refer to.
  const workingFolder = deps.environmentVariables.INIT_CWD ?? process.cwd();
  const resolve = (file: string | undefined) =>
    file === undefined ? undefined : path.resolve(workingFolder, file);
  const connection = parseDsn(dsn, dsnSource);
  const settings = {
    ...connection,
    sslRootCert: resolve(connection.sslRootCert),
    sslCert: resolve(connection.sslCert),
    sslKey: resolve(connection.sslKey),
  };
  const regenerateAppSecrets = parseRegenerateAppSecrets(
    values["regenerate-app-secrets"],
  );

  const repoRoot = resolve(values.repo) ?? deps.repoRoot;
  const environment = await loadEnvironment(repoRoot, positionals[0]!);
  const secretsFile = resolve(values["secrets-file"]);
  const targets = resolveTargets(environment, {
    secretsFile: secretsFile !== undefined,
  });
  const rotatePasswords = resolveRotationUsers(rotation, targets);
  const caCertificate = await readCaCertificate(
    resolve(values["ca-cert"]),
    settings,
    targets,
  );
  if (secretsFile && !path.relative(repoRoot, secretsFile).startsWith("..")) {
    logger.warn(
      `--secrets-file ${secretsFile} is inside the repository; keep it out of git, because it will contain passwords`,
    );
  }
  const store: SecretStore = secretsFile
    ? await fileSecretStore(secretsFile, logger)
    : kubernetesSecretStore(
        createKubernetesClient({
          context: environment.clusters.ory,
          kubeconfigPath: resolve(values.kubeconfig),
        }),
      );
  const stored = await readStoredSecrets(store, targets);

  const admin = await AdminConnection.open(dsn, settings, dsnSource);
  try {
    logger.info(
      `connected to ${admin.dialect.version.split(" on ")[0]} at ${describeEndpoint(settings)}`,
    );
    await checkAdminPrivileges(admin, targets);
    const state = await inspectServer(
      admin,
      targets,
      storedPasswords(targets, stored),
    );
    const plan = buildPlan({
      dialect: admin.dialect,
      targets,
      state,
      stored,
      rotatePasswords,
      regenerateAppSecrets,
      caCertificate,
    });

    let checks: RunResult["checks"] = [];
    if (values.apply) {
      await applyPlan(plan, admin, store, logger, deps.beforeStep);
      checks = await verifyUsers(admin, targets, plan, state);
    }

    const result: RunResult = {
      environment: environment.name,
      server: {
        dialect: admin.dialect.name,
        version: admin.dialect.version,
        endpoint: describeEndpoint(settings),
      },
      secretStore: store.description,
      applied: values.apply,
      items: plan.items,
      checks,
      restarts: plan.restarts.map((service) => ({
        context: environment.clusters.ory,
        namespace: environment.ory.namespace,
        // NOTE: assumes each HelmRelease is named after its service, so
        // the chart's Deployment is too.
        deployment: service,
      })),
      warnings: plan.warnings,
    };
    for (const warning of plan.warnings) logger.warn(warning);
    deps.writeOutput(
      format === "json" ? renderJson(result) : renderText(result),
    );

    const problem = plan.items.some(
      (item) => item.status === "blocked" || item.status === "finding",
    );
    const failed = checks.some((check) => !check.passed);
    return problem || failed ? EXIT_PROBLEM : EXIT_OK;
  } finally {
    await admin.close();
  }
}

async function readStoredSecrets(
  store: SecretStore,
  targets: Targets,
): Promise<Map<string, StoredSecret | null>> {
  const secrets = [
    ...targets.services.map((service) => service.secret),
    targets.smoke.secret,
    ...(targets.ca ? [targets.ca] : []),
  ];
  const stored = new Map<string, StoredSecret | null>();
  for (const secret of secrets) {
    stored.set(
      `${secret.namespace}/${secret.name}`,
      await store.read(secret.namespace, secret.name),
    );
  }
  return stored;
}

function storedPasswords(
  targets: Targets,
  stored: Map<string, StoredSecret | null>,
): Map<string, string> {
  const passwords = new Map<string, string>();
  const users = [
    ...targets.services.map((service) => ({
      user: service.user,
      secret: service.secret,
    })),
    targets.smoke,
  ];
  for (const { user, secret } of users) {
    const password = storedPasswordFor(
      stored.get(`${secret.namespace}/${secret.name}`) ?? null,
      user,
    );
    if (password) passwords.set(user, password);
  }
  return passwords;
}

/** Reads the CA from --ca-cert, else from the admin DSN's sslrootcert. */
async function readCaCertificate(
  flag: string | undefined,
  settings: ConnectionSettings,
  targets: Targets,
): Promise<string | undefined> {
  if (!targets.ca) return undefined;
  const file = flag ?? settings.sslRootCert;
  if (!file) return undefined;
  const source = flag ? "--ca-cert" : "the admin DSN's sslrootcert";
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(
      `cannot read the CA certificate ${file} (${source}): ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    throw new UsageError(
      `${file} (${source}) contains no PEM certificate (no -----BEGIN CERTIFICATE----- line); pass CockroachDB's ca.crt`,
    );
  }
  return text;
}
