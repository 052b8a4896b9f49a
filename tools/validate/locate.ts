import { readFileSync } from "node:fs";
import path from "node:path";
import {
  isMap,
  isSeq,
  isScalar,
  LineCounter,
  parseAllDocuments,
  type Document,
  type Node,
} from "yaml";
import { kindOf, nameOf, type RenderedObject } from "./objects.js";
import {
  patchEntries,
  readKustomization,
  type PatchEntry,
} from "./kustomize-files.js";
import type { SourceTree } from "./repository.js";
import { isPlainObject, type FieldPath } from "./structural-schema.js";

export interface Location {
  file: string;
  line: number;
  column: number;
}

interface PositionedFile {
  documents: Document.Parsed[];
  lineCounter: LineCounter;
}

/**
 * Finds the file and line a person should edit to change a value of a
 * rendered object: the last patch that sets it when one does, otherwise the
 * object's own source. Files are parsed with positions only here, when a
 * finding needs one, because doing it for every file on every run would cost
 * several times the whole validation.
 */
export class Locator {
  private readonly cache = new Map<string, PositionedFile | null>();

  constructor(private readonly tree: SourceTree) {}

  locate(object: RenderedObject, fieldPath: FieldPath): Location {
    const fromPatch = this.locateInPatches(object, fieldPath);
    if (fromPatch) return fromPatch;
    return (
      this.locateInDocument(
        object.origin.file,
        object.origin.line,
        fieldPath,
        object.data,
      ) ?? {
        file: object.origin.file,
        line: object.origin.line,
        column: 1,
      }
    );
  }

  /** Locates a value in a plain file (a model file or a kustomization). */
  locateInFile(file: string, fieldPath: FieldPath, documentLine = 1): Location {
    return (
      this.locateInDocument(file, documentLine, fieldPath, undefined) ?? {
        file,
        line: documentLine,
        column: 1,
      }
    );
  }

  private locateInPatches(
    object: RenderedObject,
    fieldPath: FieldPath,
  ): Location | undefined {
    if (fieldPath.length === 0) return undefined;
    let found: Location | undefined;
    for (const kustomizationFile of object.build.kustomizationFiles) {
      const data = readKustomization(this.tree, kustomizationFile);
      if (!data) continue;
      for (const entry of patchEntries(kustomizationFile, data)) {
        if (entry.inline) continue;
        const location = this.locateInPatchFile(entry, object, fieldPath);
        // Kustomize applies patches in order, so the last match wins.
        if (location) found = location;
      }
    }
    return found;
  }

  private locateInPatchFile(
    entry: PatchEntry,
    object: RenderedObject,
    fieldPath: FieldPath,
  ): Location | undefined {
    const positioned = this.load(entry.file);
    if (!positioned) return undefined;
    for (const document of positioned.documents) {
      const contents = document.contents as Node | null;
      if (!contents) continue;
      if (isSeq(contents)) {
        const location = this.locateJsonPatchOperation(
          entry,
          contents,
          object,
          fieldPath,
          positioned,
        );
        if (location) return location;
        continue;
      }
      const patch = document.toJS() as unknown;
      if (!patchTargets(entry, patch, object)) continue;
      const node = walk(contents, fieldPath, object.data, true);
      if (node) return this.position(entry.file, node, positioned);
    }
    return undefined;
  }

  private locateJsonPatchOperation(
    entry: PatchEntry,
    operations: Node,
    object: RenderedObject,
    fieldPath: FieldPath,
    positioned: PositionedFile,
  ): Location | undefined {
    if (!entry.target || !targetMatches(entry.target, object)) return undefined;
    const pointer = "/" + fieldPath.map(String).join("/");
    if (!isSeq(operations)) return undefined;
    for (const item of operations.items) {
      if (!isMap(item)) continue;
      const pathValue = item.get("path");
      if (
        typeof pathValue === "string" &&
        (pointer === pathValue || pointer.startsWith(pathValue + "/"))
      ) {
        return this.position(entry.file, item as Node, positioned);
      }
    }
    return undefined;
  }

  private locateInDocument(
    file: string,
    documentLine: number,
    fieldPath: FieldPath,
    rendered: unknown,
  ): Location | undefined {
    const positioned = this.load(file);
    if (!positioned) return undefined;
    const document = pickDocument(positioned, documentLine);
    const contents = document?.contents as Node | null | undefined;
    if (!contents) return undefined;
    const node = walk(contents, fieldPath, rendered, false);
    return node ? this.position(file, node, positioned) : undefined;
  }

  private position(
    file: string,
    node: Node,
    positioned: PositionedFile,
  ): Location {
    const offset = node.range?.[0] ?? 0;
    const at = positioned.lineCounter.linePos(offset);
    return { file, line: at.line, column: at.col };
  }

  private load(file: string): PositionedFile | undefined {
    if (!this.cache.has(file)) {
      try {
        const text = readFileSync(path.join(this.tree.root, file), "utf8");
        const lineCounter = new LineCounter();
        const documents = parseAllDocuments(text, {
          lineCounter,
          uniqueKeys: false,
        });
        this.cache.set(
          file,
          Array.isArray(documents) ? { documents, lineCounter } : null,
        );
      } catch {
        this.cache.set(file, null);
      }
    }
    return this.cache.get(file) ?? undefined;
  }
}

/** Finds the document whose content starts at or right after `line`. */
function pickDocument(
  positioned: PositionedFile,
  line: number,
): Document.Parsed | undefined {
  let best: Document.Parsed | undefined;
  let bestLine = Number.POSITIVE_INFINITY;
  for (const document of positioned.documents) {
    const offset = (document.contents as Node | null)?.range?.[0];
    if (offset === undefined) continue;
    const start = positioned.lineCounter.linePos(offset).line;
    if (start >= line && start < bestLine) {
      best = document;
      bestLine = start;
    }
  }
  return best ?? positioned.documents[0];
}

/**
 * Follows a field path through a YAML node. List items are matched by their
 * `name` field when the rendered list has one, because a strategic merge
 * patch lists only the items it changes. Returns the deepest node reached, or
 * undefined when `exact` is set and the path is not all there.
 */
function walk(
  root: Node,
  fieldPath: FieldPath,
  rendered: unknown,
  exact: boolean,
): Node | undefined {
  let node: Node = root;
  let lastKey: Node | undefined;
  let renderedNode = rendered;
  for (const part of fieldPath) {
    let next: Node | undefined;
    let keyNode: Node | undefined;
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (String(key) === String(part)) {
          keyNode = pair.key as Node;
          next = (pair.value as Node | null) ?? undefined;
          break;
        }
      }
    } else if (isSeq(node) && typeof part === "number") {
      const expected = Array.isArray(renderedNode)
        ? renderedNode[part]
        : undefined;
      const expectedName = isPlainObject(expected) ? expected.name : undefined;
      if (typeof expectedName === "string") {
        next = node.items.find(
          (item) => isMap(item) && item.get("name") === expectedName,
        ) as Node | undefined;
      }
      if (!next && !exact) next = node.items[part] as Node | undefined;
    }
    if (!next) {
      if (keyNode) return keyNode;
      return exact ? undefined : node;
    }
    // A mapping or list value starts on the line after its key; point at
    // the key, which is where a person reads the field.
    node = next;
    lastKey = keyNode;
    renderedNode =
      isPlainObject(renderedNode) || Array.isArray(renderedNode)
        ? (renderedNode as Record<string | number, unknown>)[part]
        : undefined;
  }
  return (isMap(node) || isSeq(node)) && lastKey ? lastKey : node;
}

function patchTargets(
  entry: PatchEntry,
  patch: unknown,
  object: RenderedObject,
): boolean {
  if (entry.target) return targetMatches(entry.target, object);
  return (
    kindOf(patch) === kindOf(object.data) &&
    nameOf(patch) !== undefined &&
    (nameOf(object.data) ?? "").includes(nameOf(patch) ?? "\0")
  );
}

function targetMatches(
  target: Record<string, unknown>,
  object: RenderedObject,
): boolean {
  if (typeof target.kind === "string" && target.kind !== kindOf(object.data))
    return false;
  if (typeof target.name === "string") {
    const name = nameOf(object.data) ?? "";
    try {
      if (
        !new RegExp(`^(?:${target.name})$`).test(name) &&
        !name.includes(target.name)
      )
        return false;
    } catch {
      if (!name.includes(target.name)) return false;
    }
  }
  return true;
}
