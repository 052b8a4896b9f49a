/**
 * A checker for Kubernetes structural schemas: the OpenAPI v3 subset that
 * CustomResourceDefinitions use, plus `$ref` by definition name for the
 * built-in kinds. Unknown fields are errors unless the schema preserves
 * them, as the API server does with field validation set to Strict.
 */
export interface StructuralSchema {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  properties?: Record<string, StructuralSchema>;
  required?: string[];
  additionalProperties?: boolean | StructuralSchema;
  items?: StructuralSchema;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  oneOf?: StructuralSchema[];
  anyOf?: StructuralSchema[];
  allOf?: StructuralSchema[];
  $ref?: string;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  "x-kubernetes-validations"?: { rule: string; message?: string }[];
}

export type FieldPath = (string | number)[];

export interface SchemaViolation {
  path: FieldPath;
  message: string;
  /** Set for unknown fields, so callers can name the rule apart. */
  unknownField?: boolean;
}

export type RefResolver = (name: string) => StructuralSchema | undefined;

const patternCache = new Map<string, RegExp | null>();

/**
 * Checks `value` against `schema` and appends every violation found; it
 * never stops at the first one.
 */
export function checkSchema(
  schema: StructuralSchema,
  value: unknown,
  resolve: RefResolver,
  violations: SchemaViolation[],
  path: FieldPath = [],
): void {
  if (schema.$ref !== undefined) {
    const target = resolve(schema.$ref);
    if (target) checkSchema(target, value, resolve, violations, path);
    return;
  }
  // The API server drops null fields before validation.
  if (value === null || value === undefined) return;

  if (schema.allOf) {
    for (const part of schema.allOf)
      checkSchema(part, value, resolve, violations, path);
  }
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (alternatives && !matchesAny(alternatives, value, resolve, path)) {
    violations.push({
      path: [...path],
      message: `${describeValue(value)} matches none of the allowed forms`,
    });
  }

  if (schema["x-kubernetes-int-or-string"]) {
    if (!(typeof value === "string" || Number.isInteger(value))) {
      violations.push({
        path: [...path],
        message: `must be an integer or a string, not ${describeValue(value)}`,
      });
    }
    return;
  }
  if (schema.type === undefined) {
    if (isPlainObject(value) && schema.properties) {
      checkObject(schema, value, resolve, violations, path);
    }
    return;
  }
  if (!hasType(schema.type, value)) {
    violations.push({
      path: [...path],
      message: `must be ${article(schema.type)}, not ${describeValue(value)}`,
    });
    return;
  }

  switch (schema.type) {
    case "object":
      checkObject(
        schema,
        value as Record<string, unknown>,
        resolve,
        violations,
        path,
      );
      break;
    case "array":
      checkArray(schema, value as unknown[], resolve, violations, path);
      break;
    case "string":
      checkString(schema, value as string, violations, path);
      break;
    case "integer":
    case "number":
      checkNumber(schema, value as number, violations, path);
      break;
    case "boolean":
      break;
  }
  if (schema.enum && !schema.enum.includes(value)) {
    violations.push({
      path: [...path],
      message: `${describeValue(value)} is not one of ${schema.enum.map((entry) => JSON.stringify(entry)).join(", ")}`,
    });
  }
}

function checkObject(
  schema: StructuralSchema,
  value: Record<string, unknown>,
  resolve: RefResolver,
  violations: SchemaViolation[],
  path: FieldPath,
): void {
  const properties = schema.properties;
  for (const name of schema.required ?? []) {
    if (value[name] === undefined || value[name] === null) {
      violations.push({
        path: [...path],
        message: `missing required field "${name}"`,
      });
    }
  }
  const keys = Object.keys(value);
  if (
    schema.minProperties !== undefined &&
    keys.length < schema.minProperties
  ) {
    violations.push({
      path: [...path],
      message: `must have at least ${schema.minProperties} field(s)`,
    });
  }
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  const embedded = schema["x-kubernetes-embedded-resource"] === true;
  const extra = schema.additionalProperties;
  for (const key of keys) {
    const child = value[key];
    const propertySchema = properties?.[key];
    path.push(key);
    if (propertySchema) {
      checkSchema(propertySchema, child, resolve, violations, path);
    } else if (typeof extra === "object") {
      checkSchema(extra, child, resolve, violations, path);
    } else if (
      !preserve &&
      extra !== true &&
      !(
        embedded &&
        (key === "apiVersion" || key === "kind" || key === "metadata")
      )
    ) {
      const suggestion = properties
        ? closest(key, Object.keys(properties))
        : undefined;
      violations.push({
        path: [...path],
        unknownField: true,
        message:
          `unknown field "${key}"` +
          (suggestion
            ? `; did you mean "${suggestion}"?`
            : "; remove it or check the API reference for this kind"),
      });
    }
    path.pop();
  }
}

function checkArray(
  schema: StructuralSchema,
  value: unknown[],
  resolve: RefResolver,
  violations: SchemaViolation[],
  path: FieldPath,
): void {
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    violations.push({
      path: [...path],
      message: `must have at least ${schema.minItems} item(s)`,
    });
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    violations.push({
      path: [...path],
      message: `must have at most ${schema.maxItems} item(s)`,
    });
  }
  if (!schema.items) return;
  for (let index = 0; index < value.length; index++) {
    path.push(index);
    checkSchema(schema.items, value[index], resolve, violations, path);
    path.pop();
  }
}

function checkString(
  schema: StructuralSchema,
  value: string,
  violations: SchemaViolation[],
  path: FieldPath,
): void {
  if (schema.minLength !== undefined && value.length < schema.minLength) {
    violations.push({
      path: [...path],
      message: `must be at least ${schema.minLength} character(s) long`,
    });
  }
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    violations.push({
      path: [...path],
      message: `must be at most ${schema.maxLength} characters long, not ${value.length}`,
    });
  }
  if (schema.pattern !== undefined) {
    const regex = compilePattern(schema.pattern);
    if (regex && !regex.test(value)) {
      violations.push({
        path: [...path],
        message: `${JSON.stringify(value)} does not match the pattern ${schema.pattern}`,
      });
    }
  }
}

function checkNumber(
  schema: StructuralSchema,
  value: number,
  violations: SchemaViolation[],
  path: FieldPath,
): void {
  if (schema.minimum !== undefined) {
    const below = schema.exclusiveMinimum
      ? value <= schema.minimum
      : value < schema.minimum;
    if (below) {
      violations.push({
        path: [...path],
        message: `must be at least ${schema.minimum}, not ${value}`,
      });
    }
  }
  if (schema.maximum !== undefined) {
    const above = schema.exclusiveMaximum
      ? value >= schema.maximum
      : value > schema.maximum;
    if (above) {
      violations.push({
        path: [...path],
        message: `must be at most ${schema.maximum}, not ${value}`,
      });
    }
  }
}

function matchesAny(
  alternatives: StructuralSchema[],
  value: unknown,
  resolve: RefResolver,
  path: FieldPath,
): boolean {
  return alternatives.some((alternative) => {
    const found: SchemaViolation[] = [];
    checkSchema(alternative, value, resolve, found, [...path]);
    return found.length === 0;
  });
}

function hasType(
  type: NonNullable<StructuralSchema["type"]>,
  value: unknown,
): boolean {
  switch (type) {
    case "object":
      return isPlainObject(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "boolean":
      return typeof value === "boolean";
  }
}

export function isPlainObject(
  value: unknown,
): value is Record<string, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date)
  );
}

/** Describes a value for a message: its type, and the value when short. */
export function describeValue(value: unknown): string {
  if (value instanceof Date)
    return `the timestamp ${value.toISOString()} (quote it to keep a string)`;
  if (Array.isArray(value)) return "a list";
  if (isPlainObject(value)) return "a mapping";
  if (typeof value === "string") {
    return value.length > 60
      ? `the string "${value.slice(0, 57)}..."`
      : `the string "${value}"`;
  }
  if (typeof value === "number")
    return Number.isInteger(value)
      ? `the integer ${value}`
      : `the number ${value}`;
  return `the ${typeof value} ${String(value)}`;
}

function article(type: string): string {
  if (type === "object") return "a mapping";
  if (type === "array") return "a list";
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function compilePattern(pattern: string): RegExp | null {
  let regex = patternCache.get(pattern);
  if (regex === undefined) {
    try {
      regex = new RegExp(pattern, "u");
    } catch {
      // An RE2 construct JavaScript lacks: skip the pattern, not the object.
      regex = null;
    }
    patternCache.set(pattern, regex);
  }
  return regex;
}

/** The candidate within edit distance 2 of `word`, for "did you mean". */
export function closest(
  word: string,
  candidates: string[],
): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  const lower = word.toLowerCase();
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase(), bestDistance);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + cost,
      );
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin >= cap) return cap;
    previous = current;
  }
  return previous[b.length]!;
}

/** Formats a field path as `spec.values.image[0].tag`. */
export function formatPath(path: FieldPath): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(part))
      text += text === "" ? part : `.${part}`;
    else text += `[${JSON.stringify(part)}]`;
  }
  return text;
}
