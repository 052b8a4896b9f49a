import { Ajv } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import { getPath } from "../objects.js";
import { isPlainObject } from "../structural-schema.js";
import { chartSecretName } from "./database.js";
import { redactDsn } from "./dsn.js";
import {
  reportValue,
  valueAt,
  type OryContext,
  type OryRelease,
} from "./releases.js";

/** Hydra, Kratos and Keto configuration rules, per release. */
export function checkServiceRules(context: OryContext): void {
  for (const release of context.releases) {
    checkDevelopmentMode(context, release);
    if (release.service === "hydra") checkHydra(context, release);
    if (release.service === "kratos") checkKratos(context, release);
    if (release.service === "keto") checkKetoNamespaces(context, release);
  }
  checkKetoAcrossEnvironments(context);
}

function checkDevelopmentMode(context: OryContext, release: OryRelease): void {
  const path =
    release.service === "hydra"
      ? "hydra.dev"
      : release.service === "kratos"
        ? "kratos.development"
        : undefined;
  if (!path || valueAt(release, path) !== true || release.tier === "dev")
    return;
  reportValue(context, release, path, {
    rule: "ory-dev-mode",
    severity: "error",
    message: `${path} is true in the ${release.tier} tier: ${release.service} then accepts plain http, weak settings and ${release.service === "hydra" ? "insecure issuers" : "insecure cookies"}`,
    fix: `set ${path}: false; only the dev tier may run in development mode`,
  });
}

function checkHydra(context: OryContext, release: OryRelease): void {
  const dev = valueAt(release, "hydra.dev") === true;
  const issuer = valueAt(release, "hydra.config.urls.self.issuer");
  if (typeof issuer !== "string" || issuer === "") {
    if (!release.valuesIncomplete) {
      reportValue(context, release, "hydra.config.urls", {
        rule: "hydra-issuer",
        severity: "error",
        message:
          "hydra.config.urls.self.issuer is not set: Hydra refuses to start, and tokens would carry no stable issuer",
        fix: "set hydra.config.urls.self.issuer to the public https URL of Hydra in this environment",
      });
    }
  } else if (!issuer.startsWith("https://") && !dev) {
    reportValue(context, release, "hydra.config.urls.self.issuer", {
      rule: "hydra-issuer",
      severity: "error",
      message: `hydra.config.urls.self.issuer "${redactDsn(issuer)}" is not https; Hydra rejects it outside dev mode`,
      fix: "use the https URL clients reach Hydra's public API at",
    });
  }

  const system = valueAt(release, "hydra.config.secrets.system");
  if (Array.isArray(system)) {
    system.forEach((secret, index) => {
      if (typeof secret === "string" && secret.length < 16) {
        reportValue(
          context,
          release,
          ["hydra", "config", "secrets", "system", index],
          {
            rule: "hydra-system-secret",
            severity: "error",
            message: `hydra.config.secrets.system[${index}] has ${secret.length} characters; Hydra requires at least 16`,
            fix: "generate a random secret of 32 characters or more and keep it in the hydra Secret",
          },
        );
      }
    });
  }
  if (chartSecretName(release) === undefined && !Array.isArray(system)) {
    reportValue(context, release, "secret", {
      rule: "hydra-system-secret",
      severity: "error",
      message:
        "secret.enabled is not false and no system secret is set, so the chart generates a random one on every install: each reinstall invalidates every issued token and encrypted record",
      fix: "set secret.enabled: false and secret.nameOverride to a Secret holding secretsSystem that bootstrap databases created once",
    });
  }
}

function checkKratos(context: OryContext, release: OryRelease): void {
  const schemas = valueAt(release, "kratos.config.identity.schemas");
  const list = Array.isArray(schemas) ? schemas.filter(isPlainObject) : [];
  if (list.length === 0) {
    if (!release.valuesIncomplete) {
      reportValue(context, release, "kratos.config.identity", {
        rule: "kratos-identity-schema",
        severity: "error",
        message:
          "kratos.config.identity.schemas is empty: Kratos has no identity schema and refuses to start",
        fix: "add a schema with an id and a file:///etc/config/<name> URL, and the file under kratos.identitySchemas",
      });
    }
  } else {
    const ids = list.map((schema) => schema.id);
    const defaultId = valueAt(
      release,
      "kratos.config.identity.default_schema_id",
    );
    if (typeof defaultId !== "string" || !ids.includes(defaultId)) {
      reportValue(
        context,
        release,
        "kratos.config.identity.default_schema_id",
        {
          rule: "kratos-identity-schema",
          severity: "error",
          message: `default_schema_id ${defaultId === undefined ? "is not set" : `"${String(defaultId)}" names no schema`}; the schemas are ${ids.map((id) => `"${String(id)}"`).join(", ")}`,
          fix: "set kratos.config.identity.default_schema_id to one of the schema ids",
        },
      );
    }
    list.forEach((schema, index) =>
      checkIdentitySchema(context, release, schema, index),
    );
  }

  const returnUrl = valueAt(
    release,
    "kratos.config.selfservice.default_browser_return_url",
  );
  if (
    (typeof returnUrl !== "string" || returnUrl === "") &&
    !release.valuesIncomplete
  ) {
    reportValue(context, release, "kratos.config.selfservice", {
      rule: "kratos-return-url",
      severity: "error",
      message:
        "kratos.config.selfservice.default_browser_return_url is not set: Kratos refuses to start",
      fix: "set it to the page users return to after a browser flow, e.g. https://id.<env>.example.com/",
    });
  }

  const cipher = valueAt(release, "kratos.config.secrets.cipher");
  if (Array.isArray(cipher)) {
    cipher.forEach((secret, index) => {
      if (typeof secret === "string" && secret.length !== 32) {
        reportValue(
          context,
          release,
          ["kratos", "config", "secrets", "cipher", index],
          {
            rule: "kratos-cipher-length",
            severity: "error",
            message: `kratos.config.secrets.cipher[${index}] has ${secret.length} characters; XChaCha20-Poly1305 and AES-GCM need exactly 32`,
            fix: "use a random secret of exactly 32 characters, kept in the kratos Secret under secretsCipher",
          },
        );
      }
    });
  }
}

const AJV_OPTIONS = { strict: false, validateFormats: false, allErrors: true };

/**
 * Creates an Ajv instance for the schema's `$schema` draft: 2020-12, 2019-09, or
 * draft-07 otherwise, as Ajv's default class. A new instance per schema, so
 * two schemas with one `$id` do not clash.
 */
function ajvFor(schema: unknown): Ajv | Ajv2019 | Ajv2020 {
  const draft = getPath(schema, "$schema");
  if (typeof draft === "string" && draft.includes("/draft/2020-12/"))
    return new Ajv2020(AJV_OPTIONS);
  if (typeof draft === "string" && draft.includes("/draft/2019-09/"))
    return new Ajv2019(AJV_OPTIONS);
  return new Ajv(AJV_OPTIONS);
}

function checkIdentitySchema(
  context: OryContext,
  release: OryRelease,
  schema: Record<string, unknown>,
  index: number,
): void {
  const path = ["kratos", "config", "identity", "schemas", index, "url"];
  const url = schema.url;
  const report = (message: string, fix: string) =>
    reportValue(context, release, path, {
      rule: "kratos-identity-schema",
      severity: "error",
      message,
      fix,
    });
  if (typeof url !== "string") {
    report(
      `identity schema "${String(schema.id)}" has no url`,
      "set url to file:///etc/config/<file name>",
    );
    return;
  }
  let text: string | undefined;
  const file = /^file:\/\/\/etc\/config\/(.+)$/.exec(url);
  if (file) {
    const content = getPath(
      valueAt(release, "kratos.identitySchemas"),
      file[1]!,
    );
    if (typeof content !== "string") {
      report(
        `identity schema "${String(schema.id)}" points at ${url}, but kratos.identitySchemas has no "${file[1]}", so the file does not exist in the pod`,
        `add the schema file to the repository and copy it into kratos.identitySchemas["${file[1]}"] (see apps/kratos/kustomization.yaml)`,
      );
      return;
    }
    text = content;
  } else if (url.startsWith("base64://")) {
    text = Buffer.from(url.slice("base64://".length), "base64").toString(
      "utf8",
    );
  } else {
    report(
      `identity schema "${String(schema.id)}" is fetched from ${redactDsn(url)} at run time: a change there bypasses review, and Kratos fails to start when it is unreachable`,
      "keep the schema as a file in this repository and load it through kratos.identitySchemas",
    );
    return;
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    report(
      `identity schema "${String(schema.id)}" is not valid JSON: ${(error as Error).message}`,
      "fix the JSON syntax of the schema file",
    );
    return;
  }
  const problem = schemaProblem(parsed);
  if (problem !== undefined) {
    report(
      `identity schema "${String(schema.id)}" is not a valid JSON Schema: ${problem}`,
      "fix the schema; Kratos validates every identity against it",
    );
    return;
  }
  const email = getPath(parsed, "properties", "traits", "properties", "email");
  const identifier = getPath(
    email,
    "ory.sh/kratos",
    "credentials",
    "password",
    "identifier",
  );
  if (identifier !== true) {
    report(
      `identity schema "${String(schema.id)}" does not mark traits.email as the password identifier, so nobody can log in with an email and password`,
      'add "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}} to the email trait',
    );
  }
}

/**
 * Checks a schema against its draft's meta-schema and compiles it. Ajv
 * throws for an unknown `$schema` draft or an unresolvable `$ref`; those
 * become the problem text instead of stopping the run.
 */
function schemaProblem(schema: unknown): string | undefined {
  if (!isPlainObject(schema) && typeof schema !== "boolean")
    return "the document is not a JSON object";
  const ajv = ajvFor(schema);
  try {
    if (!ajv.validateSchema(schema)) return ajv.errorsText(ajv.errors);
    ajv.compile(schema);
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

function ketoNamespaces(
  release: OryRelease,
): { id?: unknown; name?: unknown }[] | undefined {
  const namespaces = valueAt(release, "keto.config.namespaces");
  return Array.isArray(namespaces)
    ? namespaces.filter(isPlainObject)
    : undefined;
}

function checkKetoNamespaces(context: OryContext, release: OryRelease): void {
  const namespaces = ketoNamespaces(release);
  if (!namespaces) return;
  const names = new Set<unknown>();
  const ids = new Set<unknown>();
  namespaces.forEach((namespace, index) => {
    if (names.has(namespace.name)) {
      reportValue(
        context,
        release,
        ["keto", "config", "namespaces", index, "name"],
        {
          rule: "keto-namespaces",
          severity: "error",
          message: `Keto namespace name "${String(namespace.name)}" is declared twice`,
          fix: "keep one entry per namespace name",
        },
      );
    }
    if (namespace.id !== undefined && ids.has(namespace.id)) {
      reportValue(
        context,
        release,
        ["keto", "config", "namespaces", index, "id"],
        {
          rule: "keto-namespaces",
          severity: "error",
          message: `Keto namespace id ${String(namespace.id)} is used twice`,
          fix: "give each namespace its own id",
        },
      );
    }
    names.add(namespace.name);
    if (namespace.id !== undefined) ids.add(namespace.id);
  });
  const smoke = release.environment?.smoke;
  if (!smoke) return;
  for (const wanted of new Set([
    smoke.ketoNamespace,
    smoke.fixtures.ketoTuple.namespace,
  ])) {
    if (names.has(wanted)) continue;
    reportValue(context, release, "keto.config.namespaces", {
      rule: "keto-namespaces",
      severity: "error",
      message: `the smoke tests of ${release.environment?.name} use Keto namespace "${wanted}", which keto.config.namespaces does not declare; Keto answers "denied" for it, so the checks fail`,
      fix: `add "${wanted}" to keto.config.namespaces, or change smoke.ketoNamespace in the environment model`,
    });
  }
}

/** Every environment must declare the same Keto namespaces. */
function checkKetoAcrossEnvironments(context: OryContext): void {
  const perEnvironment = context.releases
    .filter((release) => release.service === "keto" && release.environment)
    .map((release) => ({
      release,
      names: new Set(
        (ketoNamespaces(release) ?? []).map((ns) => String(ns.name)),
      ),
    }));
  const all = new Set(perEnvironment.flatMap(({ names }) => [...names]));
  for (const { release, names } of perEnvironment) {
    const missing = [...all].filter((name) => !names.has(name));
    if (missing.length === 0) continue;
    reportValue(context, release, "keto.config.namespaces", {
      rule: "keto-namespaces",
      severity: "error",
      message: `${release.environment?.name} lacks Keto namespace(s) ${missing.join(", ")} that another environment declares; Keto stores tuples under the namespace name, so a promotion strands those tuples`,
      fix: "declare the same namespaces in every environment",
    });
  }
}
