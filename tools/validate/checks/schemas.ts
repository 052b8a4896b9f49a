import { compareText, type FindingSink } from "../findings.js";
import type { Locator } from "../locate.js";
import {
  apiVersionOf,
  describeObject,
  getPath,
  groupOf,
  kindOf,
  type RenderedObject,
} from "../objects.js";
import {
  builtInKinds,
  fluxSchema,
  kubernetesSchema,
  removedApiVersion,
  resolveRef,
} from "../schemas/index.js";
import {
  checkSchema,
  closest,
  formatPath,
  isPlainObject,
  type RefResolver,
  type SchemaViolation,
  type StructuralSchema,
} from "../structural-schema.js";

/** Schemas of custom resources, from CustomResourceDefinitions in the tree. */
export type CrdSchemas = Map<string, StructuralSchema>;

const FLUX_GROUP = /\.toolkit\.fluxcd\.io$/;
const DURATION_FIELDS = new Set(["interval", "timeout", "retryInterval"]);
const OBJECT_META = "V1ObjectMeta";

/** Collects the served versions' schemas of every CRD among the objects. */
export function collectCrdSchemas(objects: RenderedObject[]): CrdSchemas {
  const schemas: CrdSchemas = new Map();
  for (const object of objects) {
    if (kindOf(object.data) !== "CustomResourceDefinition") continue;
    const group = getPath(object.data, "spec", "group");
    const kind = getPath(object.data, "spec", "names", "kind");
    const versions = getPath(object.data, "spec", "versions");
    if (
      typeof group !== "string" ||
      typeof kind !== "string" ||
      !Array.isArray(versions)
    )
      continue;
    for (const version of versions) {
      if (!isPlainObject(version) || version.served === false) continue;
      const schema = getPath(version, "schema", "openAPIV3Schema");
      if (typeof version.name === "string" && isPlainObject(schema)) {
        schemas.set(
          `${group}/${version.name}/${kind}`,
          schema as StructuralSchema,
        );
      }
    }
  }
  return schemas;
}

/**
 * Returns the CRD schemas that apply to objects of each cluster: that
 * cluster's own CRDs, and for kinds it has none of, those of the others.
 * During an upgrade two clusters may carry different versions of one CRD,
 * so each is checked against its own, and where several CRDs define one
 * kind, the first by cluster, file and line wins, whatever build ended last.
 */
export function crdSchemasByCluster(
  objects: RenderedObject[],
): (cluster: string) => CrdSchemas {
  const order = (object: RenderedObject) =>
    `${object.build.cluster}\0${object.origin.file}\0${String(object.origin.line).padStart(9, "0")}`;
  // collectCrdSchemas keeps the last definition of a kind, so feed it the
  // first in order last.
  const crds = objects
    .filter((object) => kindOf(object.data) === "CustomResourceDefinition")
    .sort((a, b) => compareText(order(b), order(a)));
  const everywhere = collectCrdSchemas(crds);
  const perCluster = new Map<string, CrdSchemas>();
  return (cluster) => {
    let schemas = perCluster.get(cluster);
    if (!schemas) {
      const own = collectCrdSchemas(
        crds.filter((object) => object.build.cluster === cluster),
      );
      schemas = new Map([...everywhere, ...own]);
      perCluster.set(cluster, schemas);
    }
    return schemas;
  };
}

/**
 * Checks every object against its schema: the Flux kinds, the built-in
 * Kubernetes kinds, or a CRD from the tree. An object with no schema is
 * listed as skipped, never counted as valid. Returns how many were checked.
 */
export function checkObjectSchemas(
  objects: RenderedObject[],
  crds: CrdSchemas,
  sink: FindingSink,
  locator: Locator,
  deferred?: RenderedObject[],
): number {
  let validated = 0;
  for (const object of objects) {
    const apiVersion = apiVersionOf(object.data) ?? "";
    const kind = kindOf(object.data) ?? "";
    const removed = removedApiVersion(apiVersion, kind);
    if (removed) {
      const at = locator.locate(object, ["apiVersion"]);
      sink.add({
        rule: "api-version-removed",
        severity: "error",
        ...at,
        resource: describeObject(object.data),
        message: `${apiVersion} is no longer served by current Flux, so the cluster rejects this ${kind}`,
        fix: `change apiVersion to ${removed.current} and update the fields that version renamed`,
      });
      continue;
    }

    const lookup = findSchema(apiVersion, kind, crds);
    if (!lookup && deferred) {
      // A CRD from a build that has not finished may still supply it.
      deferred.push(object);
      continue;
    }
    if (!lookup && reportUnknownKind(object, apiVersion, kind, sink, locator)) {
      continue;
    }
    if (!lookup) {
      sink.skip({
        file: object.origin.file,
        line: object.origin.line,
        resource: describeObject(object.data),
        reason: FLUX_GROUP.test(groupOf(apiVersion))
          ? `no schema for ${apiVersion} ${kind}; it is not a Flux API version this validator knows`
          : `no schema for ${apiVersion} ${kind}; add its CustomResourceDefinition to the repository to have it checked`,
      });
      continue;
    }
    validated++;
    const violations: SchemaViolation[] = [];
    // status belongs to the controller; the API server ignores it on apply.
    const { status: _status, ...data } = object.data;
    checkSchema(lookup.schema, data, lookup.resolve, violations);
    for (const violation of violations)
      report(object, violation, sink, locator);
    if (kind === "Secret") checkSecretData(object, sink, locator);
  }
  return validated;
}

function findSchema(
  apiVersion: string,
  kind: string,
  crds: CrdSchemas,
): { schema: StructuralSchema; resolve: RefResolver } | undefined {
  const flux = fluxSchema(apiVersion, kind);
  if (flux) return { schema: withObjectMeta(flux), resolve: resolveRef };
  const builtIn = kubernetesSchema(apiVersion, kind);
  if (builtIn) return { schema: builtIn, resolve: resolveRef };
  const custom = crds.get(`${apiVersion}/${kind}`);
  if (custom) return { schema: withObjectMeta(custom), resolve: resolveRef };
  return undefined;
}

const withMeta = new WeakMap<StructuralSchema, StructuralSchema>();

/**
 * CRD schemas declare `metadata` as a bare object because the API server
 * checks it as ObjectMeta for every kind; do the same here.
 */
function withObjectMeta(schema: StructuralSchema): StructuralSchema {
  let wrapped = withMeta.get(schema);
  if (!wrapped) {
    // The API server accepts apiVersion and kind on every object, also
    // when a hand-written CRD schema leaves them out.
    wrapped = {
      ...schema,
      properties: {
        apiVersion: { type: "string" },
        kind: { type: "string" },
        ...schema.properties,
        metadata: { $ref: OBJECT_META },
      },
    };
    withMeta.set(schema, wrapped);
  }
  return wrapped;
}

function report(
  object: RenderedObject,
  violation: SchemaViolation,
  sink: FindingSink,
  locator: Locator,
): void {
  if (object.unresolved) {
    const value = getPath(object.data, ...violation.path.map(String));
    // The value arrives by substitution from outside git.
    if (typeof value === "string" && value.includes("${")) return;
  }
  const at = locator.locate(object, violation.path);
  const field = formatPath(violation.path) || "the object";
  const last = violation.path[violation.path.length - 1];
  const kind = kindOf(object.data);
  let rule = violation.unknownField ? "schema-unknown-field" : "schema";
  let message = `${field}: ${violation.message}`;
  let fix: string | undefined;

  if (
    kind === "Secret" &&
    (violation.path[0] === "data" || violation.path[0] === "stringData")
  ) {
    // Never repeat a Secret's value in output.
    message = `${field}: invalid value (not shown because it is Secret data)`;
  }
  if (
    typeof last === "string" &&
    DURATION_FIELDS.has(last) &&
    /pattern/.test(violation.message)
  ) {
    rule = "flux-duration";
    fix = `write ${last} as a Go duration such as 30s, 5m or 1h`;
  }
  if (
    violation.path[0] === "spec" &&
    violation.path[1] === "postBuild" &&
    violation.path[2] === "substitute" &&
    violation.path.length === 4
  ) {
    rule = "flux-substitute-string";
    message = `${field}: substitute values must be strings, and the API server rejects ${violation.message.replace(/^must be a string, not /, "")}`;
    fix = `quote the value, e.g. ${String(last)}: "${String(getPath(object.data, "spec", "postBuild", "substitute", String(last)))}"`;
  }
  sink.add({
    rule,
    severity: "error",
    ...at,
    resource: describeObject(object.data),
    message,
    ...(fix
      ? { fix }
      : violation.unknownField
        ? { fix: "remove the field or correct its name" }
        : {}),
  });
}

/** API groups served by Kubernetes itself, where no CRD can add a kind. */
let builtInGroups: Set<string> | undefined;

/**
 * Reports an object whose kind or version neither Kubernetes nor Flux
 * serves, in a group no CRD can extend. Returns false for other groups,
 * whose objects are skipped instead.
 */
function reportUnknownKind(
  object: RenderedObject,
  apiVersion: string,
  kind: string,
  sink: FindingSink,
  locator: Locator,
): boolean {
  const known = builtInKinds();
  builtInGroups ??= new Set([
    ...known.map((entry) => groupOf(versionOf(entry))),
    "extensions",
  ]);
  const group = groupOf(apiVersion);
  const fluxGroup = FLUX_GROUP.test(group);
  if (!builtInGroups.has(group) && !fluxGroup) return false;

  const candidates = fluxGroup ? (FLUX_KINDS[group] ?? []) : known;
  const sameKind = candidates.filter((entry) => kindPart(entry) === kind);
  if (sameKind.length > 0) {
    const current = sameKind.map(versionOf).sort().pop()!;
    sink.add({
      rule: "api-version-removed",
      severity: "error",
      ...locator.locate(object, ["apiVersion"]),
      resource: describeObject(object.data),
      message: `${apiVersion} does not serve ${kind}, so the cluster rejects it`,
      fix: `change apiVersion to ${current} and update the fields that version renamed`,
    });
    return true;
  }
  const inVersion = candidates.filter(
    (entry) => versionOf(entry) === apiVersion,
  );
  const suggestion = closest(
    kind,
    (inVersion.length > 0 ? inVersion : candidates).map(kindPart),
  );
  sink.add({
    rule: "kind-unknown",
    severity: "error",
    ...locator.locate(object, ["kind"]),
    resource: describeObject(object.data),
    message: `${apiVersion} has no kind ${kind}, and no CustomResourceDefinition can add one to ${group === "" ? "the core group" : group}`,
    fix: suggestion
      ? `did you mean ${suggestion}? Kind names are case-sensitive`
      : "correct apiVersion and kind",
  });
  return true;
}

/** `apps/v1/Deployment` gives `apps/v1`. */
function versionOf(entry: string): string {
  return entry.slice(0, entry.lastIndexOf("/"));
}

function kindPart(entry: string): string {
  return entry.slice(entry.lastIndexOf("/") + 1);
}

/** The kinds and versions current Flux serves, per API group. */
const FLUX_KINDS: Record<string, string[]> = {
  "helm.toolkit.fluxcd.io": ["helm.toolkit.fluxcd.io/v2/HelmRelease"],
  "kustomize.toolkit.fluxcd.io": [
    "kustomize.toolkit.fluxcd.io/v1/Kustomization",
  ],
  "source.toolkit.fluxcd.io": [
    "source.toolkit.fluxcd.io/v1/GitRepository",
    "source.toolkit.fluxcd.io/v1/HelmRepository",
    "source.toolkit.fluxcd.io/v1/HelmChart",
    "source.toolkit.fluxcd.io/v1/Bucket",
    "source.toolkit.fluxcd.io/v1/OCIRepository",
  ],
  "notification.toolkit.fluxcd.io": [
    "notification.toolkit.fluxcd.io/v1beta3/Provider",
    "notification.toolkit.fluxcd.io/v1beta3/Alert",
    "notification.toolkit.fluxcd.io/v1/Receiver",
  ],
};

const BASE64 =
  /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Secret data values must be base64, which the API server decodes. A
 * SOPS-encrypted Secret is skipped: its values are ENC[...] until Flux
 * decrypts them.
 */
function checkSecretData(
  object: RenderedObject,
  sink: FindingSink,
  locator: Locator,
): void {
  if (object.encrypted) return;
  const data = getPath(object.data, "data");
  if (!isPlainObject(data)) return;
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== "string" || BASE64.test(value.replace(/\s/g, ""))) {
      continue;
    }
    sink.add({
      rule: "schema",
      severity: "error",
      ...locator.locate(object, ["data", key]),
      resource: describeObject(object.data),
      message: `data.${key} is not valid base64 (value not shown because it is Secret data); the API server rejects the Secret`,
      fix: "base64-encode the value, or move it to stringData",
    });
  }
}
