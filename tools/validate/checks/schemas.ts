import type { FindingSink } from "../findings.js";
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
  fluxSchema,
  kubernetesSchema,
  removedApiVersion,
  resolveRef,
} from "../schemas/index.js";
import {
  checkSchema,
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
 * Checks every object against its schema: the Flux kinds, the built-in
 * Kubernetes kinds, or a CRD from the tree. An object with no schema is
 * listed as skipped, never counted as valid. Returns how many were checked.
 */
export function checkObjectSchemas(
  objects: RenderedObject[],
  crds: CrdSchemas,
  sink: FindingSink,
  locator: Locator,
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
    wrapped = {
      ...schema,
      properties: { ...schema.properties, metadata: { $ref: OBJECT_META } },
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
