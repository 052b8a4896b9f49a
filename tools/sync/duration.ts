import { UsageError } from "../lib/errors.js";

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a duration such as "90s", "10m", "1h30m" or "250ms" into
 * milliseconds. A bare number is seconds. Throws a UsageError naming `flag`.
 */
export function parseDuration(text: string, flag: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  const joined = parts.map((part) => part[0]).join("");
  if (parts.length === 0 || joined !== trimmed) {
    throw new UsageError(
      `${flag} ${JSON.stringify(text)} is not a duration; use a number with a unit, e.g. 30s, 10m or 1h30m`,
    );
  }
  let total = 0;
  for (const [, amount, unit] of parts) {
    total += Number(amount) * (UNIT_MS[unit as string] ?? 0);
  }
  if (total <= 0) {
    throw new UsageError(`${flag} must be longer than zero, got ${text}`);
  }
  return total;
}

/** Formats milliseconds as "4m05s", or "12s" under a minute. */
export function formatDuration(milliseconds: number): string {
  const seconds = Math.max(0, Math.round(milliseconds / 1000));
  const minutes = Math.floor(seconds / 60);
  const rest = String(seconds % 60).padStart(2, "0");
  return minutes > 0 ? `${minutes}m${rest}s` : `${seconds}s`;
}
