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

/**
 * Plans a service's Secret: the DSN with the decided password, and the Ory
 * application secrets. Stored application secrets are kept whatever the
 * flags, because new ones would invalidate every token and session.
 */
export function planServiceSecret(
  input: PlanInput,
  service: ServiceTarget,
  stored: StoredSecret | null,
  decision: PasswordDecision,
  createdHere: boolean,
  warnings: string[],
): SecretItem {
  const target = service.secret;
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
  };
  for (const [key, length] of Object.entries(
    APPLICATION_SECRETS[service.service],
  )) {
    const existing = stored?.data[key];
    data[key] = existing || generateSecret(length);
    if (existing && FIXED_LENGTH_KEYS.has(key) && existing.length !== length) {
      warnings.push(
        `Secret ${label(target)} key ${key} is ${existing.length} characters, but ${service.service} needs exactly ${length}; this command keeps stored values, so replace it by hand`,
      );
    }
  }
  const annotations: Record<string, string> = createdHere
    ? { [CREATED_DATABASE_ANNOTATION]: service.database }
    : {};
  return compare(target, stored, data, annotations);
}

/** Plans the smoke user's Secret: one DSN for its read-only checks. */
export function planSmokeSecret(
  input: PlanInput,
  stored: StoredSecret | null,
  decision: PasswordDecision,
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
  return compare(smoke.secret, stored, data, {});
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
  return {
    subject,
    status: "change",
    reason:
      changed.length > 0
        ? `keys ${changed.join(", ")}`
        : "marks the database as created by this command",
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
