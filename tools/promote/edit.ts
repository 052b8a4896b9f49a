import { isDeepStrictEqual } from "node:util";
import { parseAllDocuments } from "yaml";
import { PIN_FIELDS, readPins, renderScalar, type Pin } from "./pins.js";

/** A pin of the target file and the value it gets. */
export interface PinEdit {
  pin: Pin;
  value: string;
}

/**
 * Replaces the source text of each pinned scalar and nothing else, so
 * comments, key order, quoting and line breaks stay byte for byte. Then
 * parses the result and checks that exactly the edited values changed;
 * a mismatch is a bug and throws.
 */
export function applyPinEdits(text: string, edits: PinEdit[]): string {
  const ordered = [...edits].sort((a, b) => b.pin.start - a.pin.start);
  let edited = text;
  for (const { pin, value } of ordered) {
    edited =
      edited.slice(0, pin.start) +
      renderScalar(value, pin.style) +
      edited.slice(pin.end);
  }
  verifyEdits(text, edited, edits);
  return edited;
}

function verifyEdits(before: string, after: string, edits: PinEdit[]): void {
  const file = edits[0]?.pin.file ?? "(file)";
  const expected = new Map(
    readPins(before, file).map((pin) => [pinKey(pin), pin.value]),
  );
  for (const { pin, value } of edits) expected.set(pinKey(pin), value);
  const actual = new Map(
    readPins(after, file).map((pin) => [pinKey(pin), pin.value]),
  );
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Error(
      `editing ${file} produced pins ${JSON.stringify([...actual])}, expected ${JSON.stringify([...expected])}`,
    );
  }

  // Everything but the pins must read back the same.
  const withoutPins = (text: string) =>
    parseAllDocuments(text).map((document) => {
      for (const pin of readPins(text, file)) {
        if (pin.object === documentObject(document.toJS())) {
          document.setIn(PIN_FIELDS[pin.field], null);
        }
      }
      return document.toJS();
    });
  if (!isDeepStrictEqual(withoutPins(before), withoutPins(after))) {
    throw new Error(`editing ${file} changed more than the pinned values`);
  }
}

function pinKey(pin: Pin): string {
  return `${pin.object}#${pin.field}`;
}

function documentObject(data: unknown): string {
  const object = data as {
    kind?: string;
    metadata?: { name?: string; namespace?: string };
  } | null;
  return `${object?.kind ?? ""}/${object?.metadata?.namespace ?? ""}/${object?.metadata?.name ?? ""}`;
}

/**
 * Renders a unified diff between two versions of a file whose edits never
 * add or remove lines, with three lines of context, as `git diff` shows it.
 */
export function unifiedDiff(
  file: string,
  before: string,
  after: string,
): string {
  const old = splitLines(before);
  const now = splitLines(after);
  const changed: number[] = [];
  for (let index = 0; index < Math.max(old.length, now.length); index++) {
    if (old[index] !== now[index]) changed.push(index);
  }
  if (changed.length === 0) return "";
  const lines = [`--- a/${file}`, `+++ b/${file}`];
  const context = 3;
  let hunkStart = 0;
  while (hunkStart < changed.length) {
    let hunkEnd = hunkStart;
    while (
      hunkEnd + 1 < changed.length &&
      (changed[hunkEnd + 1] as number) - (changed[hunkEnd] as number) <=
        context * 2
    ) {
      hunkEnd++;
    }
    const first = Math.max(0, (changed[hunkStart] as number) - context);
    const last = Math.min(
      old.length - 1,
      (changed[hunkEnd] as number) + context,
    );
    const count = last - first + 1;
    lines.push(`@@ -${first + 1},${count} +${first + 1},${count} @@`);
    for (let index = first; index <= last; index++) {
      if (old[index] === now[index]) lines.push(` ${old[index]}`);
      else {
        lines.push(`-${old[index]}`);
        lines.push(`+${now[index]}`);
      }
    }
    hunkStart = hunkEnd + 1;
  }
  return lines.join("\n") + "\n";
}

function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}
