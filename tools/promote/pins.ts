import {
  isMap,
  isScalar,
  LineCounter,
  parseAllDocuments,
  parse,
  Scalar,
} from "yaml";
import { EXIT_PROBLEM, ToolError } from "../lib/errors.js";

/**
 * The values promotion copies, by the path where a HelmRelease patch in an
 * overlay's versions.yaml sets them.
 */
// TODO: the environment model has no field that marks other values as
// promotable; once it has one, read the extra paths from it here.
export const PIN_FIELDS = {
  chart: ["spec", "chart", "spec", "version"],
  image: ["spec", "values", "image", "tag"],
} as const;

export type PinField = keyof typeof PIN_FIELDS;

/** One pinned value, located in its file so it can be edited in place. */
export interface Pin {
  file: string;
  /** "kind/namespace/name" of the object that contains the pin. */
  object: string;
  /** The HelmRelease's name: hydra, kratos, keto or cockroachdb. */
  service: string;
  field: PinField;
  value: string;
  /** Offsets of the scalar's source text, quotes included. */
  start: number;
  end: number;
  line: number;
  style: Scalar.Type;
}

/**
 * Reads every pin in a versions.yaml. Throws a ToolError (exit 1) naming
 * the file and line when the file is not valid YAML or a pin is not a
 * single-line scalar.
 */
export function readPins(text: string, file: string): Pin[] {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter });
  if (!Array.isArray(documents)) return [];
  const pins: Pin[] = [];
  for (const document of documents) {
    const error = document.errors[0];
    if (error) {
      const at = lineCounter.linePos(error.pos[0]);
      throw new ToolError(
        `${file}:${at.line}: invalid YAML: ${error.message}`,
        EXIT_PROBLEM,
      );
    }
    if (!isMap(document.contents)) continue;
    const kind = String(document.get("kind") ?? "");
    const name = String(document.getIn(["metadata", "name"]) ?? "");
    const namespace = String(document.getIn(["metadata", "namespace"]) ?? "");
    if (!kind || !name) continue;

    for (const [field, fieldPath] of Object.entries(PIN_FIELDS)) {
      const node = document.getIn(fieldPath as readonly string[], true);
      if (node === undefined) continue;
      const line = nodeLine(node, lineCounter);
      if (!isScalar(node) || !node.range || !isSingleLine(node)) {
        throw new ToolError(
          `${file}:${line}: ${fieldPath.join(".")} of ${kind} ${name} must be a plain or quoted scalar on one line`,
          EXIT_PROBLEM,
        );
      }
      pins.push({
        file,
        object: `${kind}/${namespace}/${name}`,
        service: name,
        field: field as PinField,
        value: scalarText(node, text),
        start: node.range[0],
        end: node.range[1],
        line,
        style: node.type ?? Scalar.PLAIN,
      });
    }
  }
  return pins;
}

function nodeLine(node: unknown, lineCounter: LineCounter): number {
  const range = (node as { range?: [number, number, number] }).range;
  return range ? lineCounter.linePos(range[0]).line : 0;
}

function isSingleLine(node: Scalar): boolean {
  return (
    node.type === Scalar.PLAIN ||
    node.type === Scalar.QUOTE_SINGLE ||
    node.type === Scalar.QUOTE_DOUBLE
  );
}

// A plain scalar such as 1.10 parses as a number. The text as written is
// the version a person means, so it is taken from the source.
function scalarText(node: Scalar, text: string): string {
  if (node.type === Scalar.PLAIN && node.range) {
    return text.slice(node.range[0], node.range[1]);
  }
  return String(node.value);
}

/**
 * Renders `value` as a scalar in the style the old value was written in,
 * so the edit changes nothing but the value. A plain scalar that YAML
 * would read as something other than this string is double-quoted.
 */
export function renderScalar(value: string, style: Scalar.Type): string {
  if (style === Scalar.QUOTE_SINGLE) return `'${value.replaceAll("'", "''")}'`;
  if (style === Scalar.QUOTE_DOUBLE) return JSON.stringify(value);
  let plainReadsBack = false;
  try {
    plainReadsBack = parse(`key: ${value}`)?.key === value;
  } catch {
    plainReadsBack = false;
  }
  const safe = plainReadsBack && !/[#:]|^\s|\s$/.test(value) && value !== "";
  return safe ? value : JSON.stringify(value);
}
