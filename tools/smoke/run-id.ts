import { randomBytes } from "node:crypto";

/** Prefix of every name a smoke run gives what it creates. */
export const RUN_PREFIX = "ory-smoke-";

// The UTC start time in the id lets a sweep compute the age of anything
// named after a run, including Keto tuples, whose API shows no timestamp.
// Case-insensitive, because Kratos stores e-mail identifiers in lower case.
const RUN_ID =
  /^ory-smoke-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-[0-9a-f]{6}/i;

/** Returns a new run id, such as `ory-smoke-20250102T030405Z-a1b2c3`. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replaceAll("-", "")
    .replaceAll(":", "");
  return `${RUN_PREFIX}${stamp}-${randomBytes(3).toString("hex")}`;
}

/**
 * Returns the start time of the run that a name begins with, or undefined
 * when the name does not begin with a run id. Fixtures such as
 * `ory-smoke-readonly` share the prefix but not the id, so a sweep never
 * matches them.
 */
export function runStartedAt(name: string): Date | undefined {
  const match = RUN_ID.exec(name);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}
