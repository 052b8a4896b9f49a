import {
  APPLICATION_SECRETS,
  buildDsn,
  FIXED_LENGTH_KEYS,
  generateSecret,
  readDsnCredentials,
} from "./credentials.js";
import type { PasswordDecision } from "./passwords.js";
import type { PlanInput, PlanItem } from "./plan.js";
import {
  ROTATION_ANNOTATION,
  ROTATION_USERS_ANNOTATION,
  rotationAnnotations,
  type Rotation,
} from "./rotation.js";
import {
  CREATED_DATABASE_ANNOTATION,
  type StoredSecret,
} from "./secret-store.js";
import type { SecretTarget, ServiceTarget } from "./targets.js";

type SecretItem = Omit<PlanItem, "group">;

/** Returns the stored Secret of a target, or null. */
export function storedSecret(
  input: PlanInput,
  secret: { namespace: string; name: string },
): StoredSecret | null {
  return input.stored.get(`${secret.namespace}/${secret.name}`) ?? null;
}

/** Returns the password in a Secret's DSN if that DSN is for `user`. */
export function storedPasswordFor(
  stored: StoredSecret | null,
  user: string,
): string | undefined {
  const credentials = readDsnCredentials(stored?.data.dsn);
  return credentials?.user === user ? credentials.password : undefined;
}

/** The Ory application secrets of one service's Secret after the run. */
export interface ApplicationSecrets {
  values: Record<string, string>;
  /** Keys generated although the service's database or user existed. */
  regenerated: string[];
  /** Reason the Secret must not be written: a key is missing and in use. */
  blockedReason?: string;
}

/**
 * Decides the Ory application secrets of a service. A stored value is kept
 * whatever the flags. A missing one is generated when neither the
 * service's database nor its user exists, because then no Ory service can
 * have used the old one. Otherwise it is generated only when
 * --regenerate-app-secrets names it, and the Secret is blocked until then:
 * Hydra and Kratos encrypt data in their databases and sign tokens,
 * sessions and cookies with these values.
 */
export function decideApplicationSecrets(
  input: PlanInput,
  service: ServiceTarget,
  stored: StoredSecret | null,
  warnings: string[],
): ApplicationSecrets {
  const target = service.secret;
  const inUse = input.state.databases.has(service.database)
    ? `database ${service.database} already exists`
    : input.state.roles.has(service.user)
      ? `user ${service.user} already exists`
      : null;
  const result: ApplicationSecrets = { values: {}, regenerated: [] };
  const missing: string[] = [];
  for (const [key, length] of Object.entries(
    APPLICATION_SECRETS[service.service],
  )) {
    const name = `${service.service}.${key}`;
    const existing = stored?.data[key];
    if (existing) {
      result.values[key] = existing;
      if (FIXED_LENGTH_KEYS.has(key) && existing.length !== length) {
        warnings.push(
          `Secret ${label(target)} key ${key} is ${existing.length} characters, but ${service.service} needs exactly ${length}; this command keeps stored values, so replace it by hand`,
        );
      }
      if (input.regenerateAppSecrets.has(name)) {
        warnings.push(
          `--regenerate-app-secrets names ${name}, but Secret ${label(target)} contains it, so it was kept; the flag only fills missing keys`,
        );
      }
      continue;
    }
    if (inUse && !input.regenerateAppSecrets.has(name)) {
      missing.push(key);
      continue;
    }
    result.values[key] = generateSecret(length);
    if (inUse) result.regenerated.push(key);
  }
  if (missing.length > 0) {
    const names = missing.map((key) => `${service.service}.${key}`);
    result.blockedReason =
      `Secret ${label(target)} lacks ${missing.join(", ")}, but ${inUse}, so ${service.service} may have used the old values. ` +
      "A new value makes the data encrypted with the old one unreadable, and ends every token, session and cookie signed with it. " +
      "Restore the keys from a backup of the Secret and rerun. To replace them deliberately, rerun with " +
      `--regenerate-app-secrets ${names.join(",")} and restart ${service.service}`;
  }
  return result;
}

/**
 * Plans a service's Secret: the DSN with the decided password, and the Ory
 * application secrets decided by decideApplicationSecrets.
 */
export function planServiceSecret(
  input: PlanInput,
  service: ServiceTarget,
  stored: StoredSecret | null,
  decision: PasswordDecision,
  applicationSecrets: ApplicationSecrets,
  createdHere: boolean,
  rotation: Rotation | undefined,
): SecretItem {
  const target = service.secret;
  if (applicationSecrets.blockedReason) {
    return blocked(target, applicationSecrets.blockedReason);
  }
  if (!decision.password) {
    return blocked(target, `waits for the password of user ${service.user}`);
  }
  const data: Record<string, string> = {
    dsn: buildDsn(
      {
        ...input.targets.dsn,
        scheme: "cockroach",
        database: service.database,
        poolLimits: true,
      },
      service.user,
      decision.password,
    ),
    ...applicationSecrets.values,
  };
  const annotations: Record<string, string> = {
    ...keptAnnotations(stored, rotation),
    ...(createdHere ? { [CREATED_DATABASE_ANNOTATION]: service.database } : {}),
  };
  const item = compare(target, stored, data, annotations);
  if (applicationSecrets.regenerated.length > 0) {
    item.reason = `${item.reason}; regenerates ${applicationSecrets.regenerated.join(", ")} (--regenerate-app-secrets)`;
  }
  return item;
}

/**
 * Returns the rotation annotations to send with a Secret: the new
 * rotation's, else the stored ones. A server-side apply removes the
 * annotations that its field manager stops sending, so stored ones are
 * always sent again.
 */
function keptAnnotations(
  stored: StoredSecret | null,
  rotation: Rotation | undefined,
): Record<string, string> {
  if (rotation) return rotationAnnotations(rotation);
  const kept: Record<string, string> = {};
  for (const key of [ROTATION_ANNOTATION, ROTATION_USERS_ANNOTATION]) {
    const value = stored?.annotations[key];
    if (value !== undefined) kept[key] = value;
  }
  return kept;
}

/** Plans the smoke user's Secret: one DSN for its read-only checks. */
export function planSmokeSecret(
  input: PlanInput,
  stored: StoredSecret | null,
  decision: PasswordDecision,
  rotation: Rotation | undefined,
): SecretItem {
  const { smoke, services, dsn } = input.targets;
  if (!decision.password) {
    return blocked(
      smoke.secret,
      `waits for the password of user ${smoke.user}`,
    );
  }
  // The smoke tests use node-postgres, which reads postgresql:// URLs, and
  // switch database per check; the DSN names the first service's database.
  const data = {
    dsn: buildDsn(
      {
        ...dsn,
        scheme: "postgresql",
        database: services[0]!.database,
        poolLimits: false,
      },
      smoke.user,
      decision.password,
    ),
  };
  return compare(smoke.secret, stored, data, keptAnnotations(stored, rotation));
}

/**
 * Plans the Secret holding CockroachDB's CA, which Ory pods mount at the
 * DSNs' sslrootcert. The CA is an input, so a different one given replaces
 * the stored one.
 */
export function planCaSecret(input: PlanInput): PlanItem | null {
  const target = input.targets.ca;
  if (!target) return null;
  const stored = storedSecret(input, target);
  const group = "cluster";
  if (input.caCertificate === undefined) {
    if (stored?.data[target.key]) {
      return { group, ...compare(target, stored, {}, {}) };
    }
    return {
      group,
      ...blocked(
        target,
        "no CA certificate given: pass --ca-cert FILE or set sslrootcert in the admin DSN",
      ),
    };
  }
  const data = { [target.key]: input.caCertificate };
  return { group, ...compare(target, stored, data, {}) };
}

function compare(
  target: SecretTarget,
  stored: StoredSecret | null,
  data: Record<string, string>,
  annotations: Record<string, string>,
): SecretItem {
  const subject = `Secret ${label(target)}`;
  const secret = {
    name: target.name,
    namespace: target.namespace,
    data,
    annotations,
  };
  if (!stored) {
    return {
      subject,
      status: "create",
      reason: `keys ${Object.keys(data).join(", ")}`,
      statements: [],
      secret,
    };
  }
  const changed = Object.keys(data).filter(
    (key) => stored.data[key] !== data[key],
  );
  const annotationChanged = Object.entries(annotations).some(
    ([key, value]) => stored.annotations[key] !== value,
  );
  if (changed.length === 0 && !annotationChanged) {
    return { subject, status: "exists", statements: [] };
  }
  const created = annotations[CREATED_DATABASE_ANNOTATION];
  return {
    subject,
    status: "change",
    reason:
      changed.length > 0
        ? `keys ${changed.join(", ")}`
        : created !== undefined &&
            stored.annotations[CREATED_DATABASE_ANNOTATION] !== created
          ? "marks the database as created by this command"
          : "records the password rotation",
    statements: [],
    secret,
  };
}

function blocked(target: SecretTarget, reason: string): SecretItem {
  return {
    subject: `Secret ${label(target)}`,
    status: "blocked",
    reason,
    statements: [],
  };
}

function label(target: SecretTarget): string {
  return `${target.namespace}/${target.name}`;
}
