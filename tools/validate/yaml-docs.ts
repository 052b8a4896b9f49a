import yaml from "js-yaml";

/** Files larger than this are rejected before anything parses them. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;

/**
 * Upper bound on the nodes a document may expand to once its aliases are
 * followed. Go YAML parsers, and so kustomize, expand aliases eagerly, so a
 * small "billion laughs" file can take gigabytes there.
 */
export const MAX_EXPANDED_NODES = 1_000_000;

/**
 * YAML 1.2 core types plus merge keys, which kustomize accepts. Timestamps
 * stay strings, as they do when Kubernetes converts YAML to JSON.
 */
export const KUBERNETES_YAML_SCHEMA = yaml.CORE_SCHEMA.extend({
  // Implicit, so a plain `<<` key merges as it does in kustomize. js-yaml
  // exports its types at run time; @types/js-yaml omits them.
  implicit: [(yaml as unknown as { types: { merge: yaml.Type } }).types.merge],
});

/**
 * Maximum nesting depth js-yaml accepts. Its default of 100 rejects files
 * that kustomize builds, such as deep CRD schemas. The checks that walk
 * parsed values recurse once per level, which stays far below the stack
 * limit at this depth.
 */
export const MAX_NESTING_DEPTH = 1000;

/** Options for every js-yaml load of manifests and kustomize output. */
export const YAML_LOAD_OPTIONS: yaml.LoadOptions = {
  schema: KUBERNETES_YAML_SCHEMA,
  maxDepth: MAX_NESTING_DEPTH,
} as yaml.LoadOptions;

/** One YAML document of a file, parsed with js-yaml. */
export interface YamlDocument {
  /** 1-based line where the document's text starts (after its `---`). */
  line: number;
  /** Index of the document within its file, from 0. */
  index: number;
  text: string;
  data: unknown;
}

export interface YamlProblem {
  line: number;
  column: number;
  message: string;
  /** "size", "aliases", "syntax" or "unreadable". */
  kind: "size" | "aliases" | "syntax" | "unreadable";
}

export interface ParsedYaml {
  documents: YamlDocument[];
  problems: YamlProblem[];
}

interface RawDocument {
  line: number;
  text: string;
}

/**
 * Splits a YAML stream at `---` and `...` markers in column 0. Block
 * scalars are indented, so such a line is always a marker in the Kubernetes
 * manifests this reads.
 */
export function splitDocuments(text: string): RawDocument[] {
  // Most manifest files hold one document without markers.
  if (
    !text.startsWith("---") &&
    !text.startsWith("...") &&
    !text.includes("\n---") &&
    !text.includes("\n...")
  ) {
    return text.trim() === "" ? [] : [{ line: 1, text }];
  }
  const documents: RawDocument[] = [];
  let start = 0;
  let startLine = 1;
  let line = 1;
  let position = 0;
  const push = (end: number) => {
    const body = text.slice(start, end);
    if (body.trim() !== "") documents.push({ line: startLine, text: body });
  };
  while (position <= text.length) {
    const newline = text.indexOf("\n", position);
    const end = newline === -1 ? text.length : newline;
    if (
      text.charCodeAt(position) === 45 /* - */ &&
      text.startsWith("---", position) &&
      (end === position + 3 || /\s/.test(text[position + 3] ?? ""))
    ) {
      push(position);
      if (text.slice(position + 3, end).trim() === "") {
        start = newline === -1 ? text.length : newline + 1;
        startLine = line + 1;
      } else {
        // Content after the marker on the same line belongs to the document.
        start = position + 3;
        startLine = line;
      }
    } else if (
      text.startsWith("...", position) &&
      (end === position + 3 || /\s/.test(text[position + 3] ?? ""))
    ) {
      push(position);
      start = end;
      startLine = line + 1;
    }
    if (newline === -1) break;
    position = newline + 1;
    line++;
  }
  push(text.length);
  return documents;
}

/**
 * Parses every document of a file. Oversized files and alias bombs are
 * rejected with a problem instead of being parsed or expanded; syntax errors
 * (tabs, duplicate keys, bad indentation) become problems with their line and
 * column, and the other documents of the file are still read.
 */
export function parseYaml(text: string, byteLength: number): ParsedYaml {
  if (byteLength > MAX_FILE_BYTES) {
    return {
      documents: [],
      problems: [
        {
          line: 1,
          column: 1,
          kind: "size",
          message: `file is ${formatBytes(byteLength)}, over the ${formatBytes(MAX_FILE_BYTES)} limit for one manifest file`,
        },
      ],
    };
  }

  const documents: YamlDocument[] = [];
  const problems: YamlProblem[] = [];
  const invalid = text.indexOf("\uFFFD");
  if (invalid !== -1) {
    // readFile replaced bytes that are not UTF-8; YAML must be Unicode.
    const before = text.slice(0, invalid);
    const line = before.split("\n").length;
    return {
      documents: [],
      problems: [
        {
          line,
          column: invalid - before.lastIndexOf("\n"),
          kind: "syntax",
          message:
            "the file is not valid UTF-8 (or holds U+FFFD); YAML files must be UTF-8 text",
        },
      ],
    };
  }
  const mayHaveAliases = text.includes("*");
  for (const [index, raw] of splitDocuments(text).entries()) {
    let data: unknown;
    try {
      data = yaml.load(raw.text, YAML_LOAD_OPTIONS);
    } catch (error) {
      problems.push(toProblem(error, raw.line));
      continue;
    }
    if (mayHaveAliases) {
      const nodes = countExpandedNodes(data, MAX_EXPANDED_NODES);
      if (nodes > MAX_EXPANDED_NODES) {
        problems.push({
          line: raw.line,
          column: 1,
          kind: "aliases",
          message: `document expands to more than ${MAX_EXPANDED_NODES.toLocaleString("en-US")} nodes through YAML aliases (an alias bomb); write the values out or use fewer nested aliases`,
        });
        continue;
      }
    }
    if (data === null || data === undefined) continue;
    documents.push({ line: raw.line, index, text: raw.text, data });
  }
  return { documents, problems };
}

/**
 * Counts the nodes a value would have if every alias were copied, stopping
 * once the count passes `limit`. Aliases parse to shared objects, so a memo
 * keyed by identity keeps this linear in the parsed size. It walks with its
 * own stack, because a chain of thousands of aliases nests that deep.
 */
export function countExpandedNodes(value: unknown, limit: number): number {
  if (value === null || typeof value !== "object") return 1;
  const memo = new Map<object, number>();
  // Each frame is a node, its children and the running total.
  const stack: {
    node: object;
    children: unknown[];
    next: number;
    total: number;
  }[] = [];
  const enter = (node: object) => {
    memo.set(node, limit + 1); // a cycle counts as over the limit
    stack.push({
      node,
      children: Array.isArray(node) ? node : Object.values(node),
      next: 0,
      total: 1,
    });
  };
  enter(value);
  let result = 0;
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.total <= limit && frame.next < frame.children.length) {
      const child = frame.children[frame.next++];
      if (child === null || typeof child !== "object") {
        frame.total += 1;
        continue;
      }
      const known = memo.get(child);
      if (known !== undefined) frame.total += known;
      else enter(child);
      continue;
    }
    stack.pop();
    memo.set(frame.node, frame.total);
    const parent = stack[stack.length - 1];
    if (parent) parent.total += frame.total;
    else result = frame.total;
  }
  return result;
}

/** Builds the problem of a file that exists but cannot be opened, e.g. EACCES. */
export function unreadableProblem(code: string): YamlProblem {
  return {
    line: 1,
    column: 1,
    kind: "unreadable",
    message: `the file cannot be read (${code}), so nothing in it is checked`,
  };
}

/** Names the rule that reports a problem, and how to fix it. */
export function describeYamlProblem(problem: YamlProblem): {
  rule: string;
  fix: string;
} {
  switch (problem.kind) {
    case "size":
      return {
        rule: "yaml-too-large",
        fix: `split the file; the limit is ${MAX_FILE_BYTES / 1024 / 1024} MiB`,
      };
    case "aliases":
      return {
        rule: "yaml-alias-bomb",
        fix: `expand the aliases by hand; a document may reach ${MAX_EXPANDED_NODES.toLocaleString("en-US")} nodes`,
      };
    case "unreadable":
      return {
        rule: "yaml-unreadable",
        fix: "give the user running the validator read access to the file",
      };
    case "syntax":
      break;
  }
  const fix = /tab/i.test(problem.message)
    ? "indent with spaces; YAML does not allow tabs for indentation"
    : /duplicate|duplicated/i.test(problem.message)
      ? "remove one of the two keys; YAML keeps only one and kustomize rejects the file"
      : "fix the YAML syntax at this position";
  return { rule: "yaml-syntax", fix };
}

function toProblem(error: unknown, lineOffset: number): YamlProblem {
  if (error instanceof yaml.YAMLException) {
    const mark = error.mark as { line?: number; column?: number } | undefined;
    return {
      line: lineOffset + (mark?.line ?? 0),
      column: (mark?.column ?? 0) + 1,
      kind: "syntax",
      message: error.reason || "invalid YAML",
    };
  }
  return {
    line: lineOffset,
    column: 1,
    kind: "syntax",
    message: (error as Error).message,
  };
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}
