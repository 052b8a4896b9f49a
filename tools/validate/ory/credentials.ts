import type { OryService } from "../../lib/environment.js";
import type { Finding } from "../findings.js";
import { describeObject, kindOf, type RenderedObject } from "../objects.js";
import {
  formatPath,
  isPlainObject,
  type FieldPath,
} from "../structural-schema.js";
import { hasUrlPassword, redactDsn, urlsIn } from "./dsn.js";
import {
  reportObject,
  reportValue,
  valueAt,
  type HelmReleaseValues,
  type OryContext,
  type OryRelease,
} from "./releases.js";

type Report = Omit<Finding, "file" | "line" | "column" | "resource">;

const RULE = "ory-plaintext-credential";

/** Ory application secrets that belong in a Secret, never in values. */
const CONFIG_SECRETS: Record<OryService, string[]> = {
  hydra: ["system", "cookie"],
  kratos: ["default", "cookie", "cipher"],
  keto: [],
};

/** Environment variable names that hold a secret whatever their value. */
const SECRET_ENV_NAME = /^SECRETS_|PASSWORD|SECRET|TOKEN|_KEY$/i;
/** Environment variables that hold a URL, secret only with a password in it. */
const URL_ENV_NAMES = new Set(["DSN", "COURIER_SMTP_CONNECTION_URI"]);
const SUBSTITUTION = /\$\{[^}]*\}/;
const SOPS_VALUE = /^ENC\[.*\]$/s;

/**
 * Reports credentials written in git in plain text. These are URLs with a
 * password anywhere in a rendered object or a release's merged values,
 * literal values of secret environment variables, and Ory secrets in values.
 * Every Secret file of the tree is checked for data that is not encrypted.
 */
export function checkPlaintextCredentials(context: OryContext): void {
  const consumed = valuesFromKeys(context.helmReleases);
  for (const release of context.helmReleases) {
    scanValue(release.values, [], {
      report: (path, finding) => reportValue(context, release, path, finding),
      describe: (path) => `values.${formatPath(path)}`,
    });
  }
  for (const object of context.objects) {
    const isRelease = kindOf(object.data) === "HelmRelease";
    const isSecret = kindOf(object.data) === "Secret";
    const skipped = consumed.get(object);
    scanValue(object.data, [], {
      report: (path, finding) => reportObject(context, object, path, finding),
      describe: formatPath,
      skip: (path) =>
        (isRelease && path.length === 2 && path[1] === "values") ||
        (isSecret && path.length === 1 && isDataField(path[0])) ||
        (skipped !== undefined &&
          path.length === 2 &&
          skipped.has(path.join("\0"))),
    });
  }
  for (const release of context.releases) checkConfigSecrets(context, release);
  checkRenderedSecrets(context);
  checkSecretFiles(context);
}

function isDataField(key: unknown): boolean {
  return key === "data" || key === "stringData";
}

/**
 * Collects the ConfigMap and Secret keys that releases read as values, per
 * object, because their strings are scanned as part of the release's values.
 */
function valuesFromKeys(
  releases: HelmReleaseValues[],
): Map<RenderedObject, Set<string>> {
  const keys = new Map<RenderedObject, Set<string>>();
  for (const release of releases) {
    for (const source of release.sources.values()) {
      let set = keys.get(source.object);
      if (!set) keys.set(source.object, (set = new Set()));
      set.add([source.field, source.key].join("\0"));
    }
  }
  return keys;
}

interface Scan {
  report: (path: FieldPath, finding: Report) => void;
  /** Formats the field at `path` for a message. */
  describe: (path: FieldPath) => string;
  skip?: (path: FieldPath) => boolean;
}

/**
 * Walks `value` depth first. `path` is one array pushed and popped along the
 * way, since this visits every node of every object; a report gets a copy.
 */
function scanValue(value: unknown, path: FieldPath, scan: Scan): void {
  if (typeof value === "string") {
    const url = credentialUrlIn(value);
    if (url === undefined) return;
    scan.report([...path], {
      rule: RULE,
      severity: "error",
      message: `${scan.describe(path)} contains a URL with a password (${redactDsn(url)}); everyone who can read the repository gets it`,
      fix: "move the URL into a Secret created outside git or encrypted with SOPS, and read it from there (secretKeyRef, or the chart's Secret)",
    });
    return;
  }
  if (Array.isArray(value)) {
    const last = path[path.length - 1];
    const isEnvList =
      typeof last === "string" && (last === "env" || last.endsWith("Env"));
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      path.push(index);
      if (isEnvList && checkEnvEntry(item, path, scan)) {
        // The entry is reported; scan its other fields only.
        const { value: _value, ...rest } = item as Record<string, unknown>;
        scanValue(rest, path, scan);
      } else {
        scanValue(item, path, scan);
      }
      path.pop();
    }
    return;
  }
  if (isPlainObject(value)) {
    for (const key in value) {
      path.push(key);
      if (!scan.skip?.(path)) scanValue(value[key], path, scan);
      path.pop();
    }
  }
}

/** Finds the URL with a password in a string: the whole string, or a word of a text. */
function credentialUrlIn(value: string): string | undefined {
  // Both forms need a scheme; most strings are names and numbers.
  if (!value.includes("://")) return undefined;
  if (!/\s/.test(value)) return hasUrlPassword(value) ? value : undefined;
  return urlsIn(value).find(hasUrlPassword);
}

/**
 * Reports an environment variable whose literal value is a secret: one named
 * like a secret, or a DSN or SMTP URI with a password. Returns whether it
 * reported one.
 */
function checkEnvEntry(entry: unknown, path: FieldPath, scan: Scan): boolean {
  if (!isPlainObject(entry)) return false;
  const { name, value } = entry;
  if (typeof name !== "string" || typeof value !== "string") return false;
  if (value === "" || SUBSTITUTION.test(value) || SOPS_VALUE.test(value))
    return false;
  let problem: string | undefined;
  if (URL_ENV_NAMES.has(name)) {
    if (hasUrlPassword(value))
      problem = `is a URL with a password (${redactDsn(value)})`;
  } else if (SECRET_ENV_NAME.test(name) && !/^\/\S*$/.test(value)) {
    // An absolute path names a mounted file, not the secret itself.
    problem = "is named like a secret and has a literal value";
  }
  if (!problem) return false;
  scan.report([...path, "value"], {
    rule: RULE,
    severity: "error",
    message: `environment variable ${name} at ${scan.describe(path)} ${problem}; everyone who can read the repository gets it`,
    fix: `read ${name} with valueFrom.secretKeyRef from a Secret created outside git or encrypted with SOPS`,
  });
  return true;
}

function checkConfigSecrets(context: OryContext, release: OryRelease): void {
  for (const name of CONFIG_SECRETS[release.service]) {
    const path = `${release.service}.config.secrets.${name}`;
    const value = valueAt(release, path);
    if (
      value === undefined ||
      value === null ||
      (Array.isArray(value) && value.length === 0)
    )
      continue;
    reportValue(context, release, path, {
      rule: RULE,
      severity: "error",
      message: `${path} is written in git; anyone who can read the repository can forge ${release.service === "hydra" ? "tokens" : "sessions"}`,
      fix: `remove it from values; the chart reads it from the ${release.service} Secret, which bootstrap databases creates`,
    });
  }
}

/** Lists the problems of one Secret: plain data, or values SOPS left plain. */
function secretProblems(
  data: Record<string, unknown>,
  encrypted: boolean,
): { path: FieldPath; message: string }[] {
  const problems: { path: FieldPath; message: string }[] = [];
  for (const field of ["data", "stringData"]) {
    const entries = data[field];
    if (!isPlainObject(entries)) continue;
    const plain = Object.entries(entries)
      .filter(([, value]) => !isProtected(value))
      .map(([key]) => key);
    if (plain.length === 0) continue;
    if (!encrypted) {
      problems.push({
        path: [field],
        message: `Secret has ${field} in plain text in git (keys: ${plain.join(", ")})`,
      });
      continue;
    }
    for (const key of plain) {
      problems.push({
        path: [field, key],
        message: `SOPS-encrypted Secret leaves ${field}.${key} unencrypted (its encrypted_regex or unencrypted_regex skips it), so the value is in git in plain text`,
      });
    }
  }
  return problems;
}

/** Returns true for a SOPS value, or one that Flux substitutes from outside git. */
function isProtected(value: unknown): boolean {
  return (
    typeof value === "string" &&
    (SOPS_VALUE.test(value) || /^\$\{[^}]*\}$/.test(value))
  );
}

const SECRET_FIX =
  "encrypt it with SOPS (and set spec.decryption on its Kustomization), or create it outside git and declare it in the environment model";

function checkRenderedSecrets(context: OryContext): void {
  for (const object of context.objects) {
    if (kindOf(object.data) !== "Secret") continue;
    for (const { path, message } of secretProblems(
      object.data,
      object.encrypted,
    )) {
      reportObject(context, object, path, {
        rule: RULE,
        severity: "error",
        message,
        fix: SECRET_FIX,
      });
    }
  }
}

/**
 * Checks every Secret document in git, also those no build renders: a file
 * that no kustomization lists is still readable by everyone with the
 * repository.
 */
function checkSecretFiles(context: OryContext): void {
  const rendered = new Set(
    context.objects.map(
      (object) => `${object.origin.file}:${object.origin.line}`,
    ),
  );
  for (const file of context.tree.files.values()) {
    if (!file.mayContain("Secret")) continue;
    for (const document of file.documents) {
      const data = document.data;
      if (!isPlainObject(data) || kindOf(data) !== "Secret") continue;
      if (rendered.has(`${file.path}:${document.line}`)) continue;
      const encrypted = isPlainObject(data.sops);
      for (const { path, message } of secretProblems(data, encrypted)) {
        context.sink.add({
          rule: RULE,
          severity: "error",
          ...context.locator.locateInFile(file.path, path, document.line),
          resource: describeObject(data),
          message,
          fix: SECRET_FIX,
        });
      }
    }
  }
}
