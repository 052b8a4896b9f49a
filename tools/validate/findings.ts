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
  private readonly seen = new Set<string>();

  add(finding: Finding): void {
    if (!findRule(finding.rule)) {
      // Every rule needs a catalogue entry, or docs/rules.md misses it.
      throw new Error(`finding uses unregistered rule "${finding.rule}"`);
    }
    // The same object can be built by two Flux Kustomizations that share a
    // base; report each problem at a location once.
    const key = `${finding.rule}\0${finding.file}\0${finding.line}\0${finding.column}\0${finding.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.findings.push(finding);
  }

  skip(entry: Skipped): void {
    this.skipped.push(entry);
  }

  count(severity: Severity): number {
    return this.findings.filter((finding) => finding.severity === severity)
      .length;
  }
}
