import { applyPinEdits, type PinEdit } from "./edit.js";
import { gitOutput, type GitRunner } from "./git.js";
import { readPins, type Pin, type PinField } from "./pins.js";
import type { CommitTree } from "./tree.js";

/** One value that differs between the environments. */
export interface Change {
  overlay: string;
  service: string;
  field: PinField;
  from: string;
  to: string;
  targetFile: string;
  targetLine: number;
  sourceFile: string;
  sourceLine: number;
  /** The commit that last changed the source line (git blame). */
  sourceCommit: string;
}

/** A difference that promotion cannot carry over, with the reason. */
export interface Skipped {
  overlay: string;
  service: string;
  field: PinField | null;
  reason: string;
}

/** One target file with its text before and after the edits. */
export interface FileEdit {
  file: string;
  before: string;
  after: string;
}

export interface PromotionPlan {
  changes: Change[];
  skipped: Skipped[];
  files: FileEdit[];
}

/** Returns the path of an overlay's versions.yaml, the only file that pins versions. */
export function pinsFile(environment: string, overlay: string): string {
  return `environments/${environment}/${overlay}/versions.yaml`;
}

/**
 * Compares the pins of every overlay the two environments share and edits
 * the target's files to the source's values.
 */
export async function planPromotion(
  git: GitRunner,
  tree: CommitTree,
  from: string,
  to: string,
): Promise<PromotionPlan> {
  const plan: PromotionPlan = { changes: [], skipped: [], files: [] };
  for (const overlay of overlaysOf(tree, from)) {
    const sourceFile = pinsFile(from, overlay);
    const targetFile = pinsFile(to, overlay);
    if (!tree.has(targetFile)) {
      plan.skipped.push({
        overlay,
        service: "*",
        field: null,
        reason: `${targetFile} does not exist, so ${to} has no ${overlay} overlay to promote into`,
      });
      continue;
    }
    const sourcePins = readPins(await tree.read(sourceFile), sourceFile);
    const before = await tree.read(targetFile);
    const targetPins = readPins(before, targetFile);
    const { edits, skipped } = comparePins(overlay, sourcePins, targetPins);
    plan.skipped.push(...skipped);
    if (edits.length === 0) continue;

    plan.files.push({
      file: targetFile,
      before,
      after: applyPinEdits(
        before,
        edits.map((edit) => edit.edit),
      ),
    });
    for (const { edit, source } of edits) {
      plan.changes.push({
        overlay,
        service: edit.pin.service,
        field: edit.pin.field,
        from: edit.pin.value,
        to: edit.value,
        targetFile,
        targetLine: edit.pin.line,
        sourceFile,
        sourceLine: source.line,
        sourceCommit: await blameLine(
          git,
          tree.commit,
          sourceFile,
          source.line,
        ),
      });
    }
  }
  return plan;
}

function overlaysOf(tree: CommitTree, environment: string): string[] {
  const pattern = new RegExp(
    `^environments/${environment}/([^/]+)/versions\\.yaml$`,
  );
  return tree
    .filesUnder(`environments/${environment}`)
    .map((file) => pattern.exec(file)?.[1])
    .filter((overlay): overlay is string => overlay !== undefined)
    .sort();
}

/** Pairs pins by object and field; a pin only one side has is skipped. */
export function comparePins(
  overlay: string,
  sourcePins: Pin[],
  targetPins: Pin[],
): { edits: { edit: PinEdit; source: Pin }[]; skipped: Skipped[] } {
  const edits: { edit: PinEdit; source: Pin }[] = [];
  const skipped: Skipped[] = [];
  const targets = new Map(
    targetPins.map((pin) => [`${pin.object}#${pin.field}`, pin]),
  );
  const targetObjects = new Set(targetPins.map((pin) => pin.object));
  for (const source of sourcePins) {
    const target = targets.get(`${source.object}#${source.field}`);
    if (!target) {
      const [kind, , name] = source.object.split("/");
      skipped.push({
        overlay,
        service: source.service,
        field: source.field,
        reason: targetObjects.has(source.object)
          ? `the target file does not pin the ${source.field} of ${kind} ${name}; add that line by hand`
          : `the target file has no ${kind} ${name}; add its patch by hand`,
      });
      continue;
    }
    if (target.value !== source.value) {
      edits.push({ edit: { pin: target, value: source.value }, source });
    }
  }
  return { edits, skipped };
}

async function blameLine(
  git: GitRunner,
  commit: string,
  file: string,
  line: number,
): Promise<string> {
  const output = await gitOutput(git, [
    "blame",
    "--porcelain",
    "-L",
    `${line},${line}`,
    commit,
    "--",
    file,
  ]);
  return output.split(" ")[0] ?? "";
}
