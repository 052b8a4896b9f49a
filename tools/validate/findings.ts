import { findRule } from "./rules.js";

/** Severity of a finding: errors fail the run, warnings and notes do not. */
export type Severity = "error" | "warning" | "note";

/** One problem found by a check, located where a person should edit. */
export interface Finding {
  rule: string;
  severity: Severity;
  /** Path relative to the validated root, with forward slashes. */
  file: string;
  line: number;
  column: number;
  /** `Kind/namespace/name` of the object concerned, when there is one. */
  resource?: string;
  message: string;
  /** The change that fixes it. */
  fix?: string;
}

/** An object the validator did not check, with the reason. */
export interface Skipped {
  file: string;
  line: number;
  resource: string;
  reason: string;
}

/** Collects findings for one run; checks only ever append. */
export class FindingSink {
  readonly findings: Finding[] = [];
  readonly skipped: Skipped[] = [];
  /** Index in `findings` of the finding kept for each location and message. */
  private readonly seen = new Map<string, number>();
  private readonly skippedKeys = new Set<string>();

  add(finding: Finding): void {
    if (!findRule(finding.rule)) {
      // Every rule needs a catalogue entry, or docs/rules.md misses it.
      throw new Error(`finding uses unregistered rule "${finding.rule}"`);
    }
    // The same object can be built by two Flux Kustomizations that share a
    // base; report each problem at a location once. Builds end in any
    // order, so of such copies the one first in sort order is kept.
    const key = `${finding.rule}\0${finding.file}\0${finding.line}\0${finding.column}\0${finding.message}`;
    const index = this.seen.get(key);
    if (index === undefined) {
      this.seen.set(key, this.findings.length);
      this.findings.push(finding);
    } else if (tieBreak(finding) < tieBreak(this.findings[index]!)) {
      this.findings[index] = finding;
    }
  }

  skip(entry: Skipped): void {
    // A Kustomization reached twice must not list the same skip twice.
    const key = `${entry.file}\0${entry.line}\0${entry.resource}\0${entry.reason}`;
    if (this.skippedKeys.has(key)) return;
    this.skippedKeys.add(key);
    this.skipped.push(entry);
  }

  count(severity: Severity): number {
    return this.findings.filter((finding) => finding.severity === severity)
      .length;
  }
}

function tieBreak(finding: Finding): string {
  return `${finding.resource ?? ""}\0${finding.fix ?? ""}`;
}

/**
 * Compares strings by code point, the same in every locale, so that sorted
 * output does not depend on the machine.
 */
export function compareText(a: string, b: string): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}
