import { isDeepStrictEqual } from "node:util";
import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Node,
} from "yaml";
import type { Location } from "../locate.js";
import { getPath, kindOf, type RenderedObject } from "../objects.js";
import type { SourceTree } from "../repository.js";
import type { FieldPath } from "../structural-schema.js";
import type { YamlDocument } from "../yaml-docs.js";
import type { ValuesSource } from "./values.js";

interface LocatingContext {
  locator: {
    locate(object: RenderedObject, fieldPath: FieldPath): Location;
    locateInFile(
      file: string,
      fieldPath: FieldPath,
      documentLine?: number,
    ): Location;
  };
  tree: SourceTree;
}

/**
 * Locates a field of a rendered object like the Locator does, and also
 * reaches an item of a list that a patch replaced as a whole. The Locator
 * matches a patch's list items by their `name`, so an item without one (a
 * string, say) would otherwise point at the base file.
 */
export function locateField(
  context: LocatingContext,
  object: RenderedObject,
  fieldPath: FieldPath,
): Location {
  const at = context.locator.locate(object, fieldPath);
  const index = fieldPath.findIndex((part) => typeof part === "number");
  if (index <= 0) return at;
  const listPath = fieldPath.slice(0, index);
  const listAt = context.locator.locate(object, listPath);
  if (listAt.file === at.file) return at;
  const document = documentAt(context.tree, listAt.file, listAt.line);
  if (!document) return at;
  const keys = listPath.map(String);
  // Only a list that came wholly from that patch maps item for item.
  const patched = getPath(document.data, ...keys);
  const rendered = getPath(object.data, ...keys);
  if (!Array.isArray(patched) || !isDeepStrictEqual(patched, rendered))
    return at;
  return context.locator.locateInFile(listAt.file, fieldPath, document.line);
}

/**
 * Locates a path of a release's merged values: in spec.values (or the patch
 * that sets it), or in the valuesFrom ConfigMap or Secret that supplied it
 * when that source holds more of the path than spec.values does.
 */
export function locateValue(
  context: LocatingContext,
  release: { object: RenderedObject; sources: Map<string, ValuesSource> },
  valuesPath: FieldPath,
): Location {
  const top = valuesPath[0];
  const source = typeof top === "string" ? release.sources.get(top) : undefined;
  const inline = getPath(release.object.data, "spec", "values");
  if (
    source &&
    depthIn(source.values, valuesPath) > depthIn(inline, valuesPath)
  )
    return locateInSource(context, source, valuesPath);
  return locateField(context, release.object, [
    "spec",
    "values",
    ...valuesPath,
  ]);
}

/** Counts the leading parts of `path` that exist in `data`. */
function depthIn(data: unknown, path: FieldPath): number {
  let current = data;
  let depth = 0;
  for (const part of path) {
    current = getPath(current, String(part));
    if (current === undefined) break;
    depth++;
  }
  return depth;
}

/**
 * Locates a values path inside a valuesFrom source: the line inside a
 * literal block (`values.yaml: |`) when the file holds the text as it was
 * rendered, otherwise the source's key.
 */
function locateInSource(
  context: LocatingContext,
  source: ValuesSource,
  valuesPath: FieldPath,
): Location {
  const keyAt = locateField(context, source.object, [source.field, source.key]);
  // A targetPath value is one scalar, and a Secret's data is base64.
  const base64 =
    kindOf(source.object.data) === "Secret" && source.field === "data";
  if (source.targetPath || base64) return keyAt;
  const text = getPath(source.object.data, source.field, source.key);
  const document = documentAt(context.tree, keyAt.file, keyAt.line);
  if (typeof text !== "string" || !document) return keyAt;
  const fileLines = document.text.split("\n");
  const keyLine = fileLines[keyAt.line - document.line] ?? "";
  if (!/:\s*\|[-+0-9]*\s*(#.*)?$/.test(keyLine)) return keyAt;
  const firstContent = fileLines[keyAt.line - document.line + 1] ?? "";
  const textLines = text.split("\n");
  if (firstContent.trim() !== (textLines[0] ?? "").trim()) return keyAt;

  const indent = firstContent.length - firstContent.trimStart().length;
  const inText = positionInText(text, valuesPath);
  if (!inText) return keyAt;
  return {
    file: keyAt.file,
    line: keyAt.line + inText.line,
    column: indent + inText.column,
  };
}

/** Line and column (1-based) of the deepest node of `path` in YAML text. */
function positionInText(
  text: string,
  path: FieldPath,
): { line: number; column: number } | undefined {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: false });
  let node = document.contents as Node | null;
  let found: Node | undefined;
  for (const part of path) {
    if (!node) break;
    let next: Node | undefined;
    let keyNode: Node | undefined;
    if (isMap(node)) {
      const pair = node.items.find(
        (item) =>
          String(isScalar(item.key) ? item.key.value : item.key) ===
          String(part),
      );
      keyNode = pair?.key as Node | undefined;
      next = (pair?.value as Node | null) ?? undefined;
    } else if (isSeq(node) && typeof part === "number") {
      next = node.items[part] as Node | undefined;
    }
    if (!next && !keyNode) break;
    // Point at the key, where a person reads the field.
    found = keyNode ?? next;
    node = next ?? null;
  }
  const offset = found?.range?.[0];
  if (offset === undefined) return undefined;
  const position = lineCounter.linePos(offset);
  return { line: position.line, column: position.col };
}

/** Finds the document of `file` whose text contains `line`. */
function documentAt(
  tree: SourceTree,
  file: string,
  line: number,
): YamlDocument | undefined {
  let found: YamlDocument | undefined;
  for (const document of tree.files.get(file)?.documents ?? []) {
    if (document.line <= line) found = document;
  }
  return found;
}
