import type { Environment } from "../../lib/environment.js";
import { TIERS } from "../../lib/environment.js";
import type { FieldPath } from "../structural-schema.js";
import {
  reportObject,
  valueAt,
  type OryContext,
  type OryRelease,
} from "./releases.js";

/** The image a release runs, as far as its values name it. */
export interface ImageReference {
  /** The tag, without a digest after it; undefined for the chart default. */
  tag: string | undefined;
  /** True when a sha256 digest pins the image. */
  digest: boolean;
  /** The values path that sets the tag. */
  path: FieldPath;
}

const DIGEST = /@sha256:[0-9a-f]{64}$/i;

/**
 * Reads `image.tag` and `image.repository`, or the one "repository:tag"
 * string that the kratos chart also takes as `image`.
 */
export function imageOf(release: OryRelease): ImageReference {
  const image = valueAt(release, "image");
  if (typeof image === "string") {
    const [name = "", digest] = image.split("@");
    const colon = name.lastIndexOf(":");
    const tag = colon > name.lastIndexOf("/") ? name.slice(colon + 1) : "";
    return {
      tag: tag === "" ? undefined : tag,
      digest: digest !== undefined && DIGEST.test(`@${digest}`),
      path: ["image"],
    };
  }
  const tag = valueAt(release, "image.tag");
  const repository = valueAt(release, "image.repository");
  const text = typeof tag === "string" ? tag : "";
  return {
    tag: text === "" ? undefined : text.replace(/@.*$/, ""),
    digest:
      DIGEST.test(text) ||
      (typeof repository === "string" && DIGEST.test(repository)),
    path: ["image", "tag"],
  };
}

/**
 * Checks the order environments promote in: no loop in the promotesTo
 * chain, and no environment ahead of the one that promotes to it.
 */
export function checkPromotionRules(context: OryContext): void {
  const cycles = checkPromotionCycles(context);
  checkPromotionOrder(context, cycles);
}

/**
 * Reports each loop in the promotesTo chain once, at the environment whose
 * promotesTo goes back the furthest in tier (production to dev), and returns
 * the names of every environment on a loop.
 */
function checkPromotionCycles(context: OryContext): Set<string> {
  const byName = new Map(
    context.environments.map((environment) => [environment.name, environment]),
  );
  const onCycle = new Set<string>();
  for (const start of context.environments) {
    const chain: Environment[] = [];
    let current: Environment | undefined = start;
    while (current && !chain.includes(current)) {
      chain.push(current);
      current = current.promotesTo ? byName.get(current.promotesTo) : undefined;
    }
    if (!current || onCycle.has(current.name)) continue;
    const cycle = chain.slice(chain.indexOf(current));
    for (const environment of cycle) onCycle.add(environment.name);

    const drop = (environment: Environment) =>
      TIERS.indexOf(environment.tier) -
      TIERS.indexOf(byName.get(environment.promotesTo!)!.tier);
    const culprit = cycle.reduce((best, environment) =>
      drop(environment) > drop(best) ? environment : best,
    );
    const from = cycle.indexOf(culprit);
    const loop = [...cycle.slice(from + 1), ...cycle.slice(0, from + 1)];
    const names = [...loop, loop[0]!].map((environment) => environment.name);
    context.sink.add({
      rule: "environment-promotion-cycle",
      severity: "error",
      ...context.locator.locateInFile(
        `environments/${culprit.name}/environment.yaml`,
        ["promotesTo"],
      ),
      message: `promotesTo makes a loop (${names.join(" -> ")}): promotion never reaches a last environment, and each version would be promoted back to where it started`,
      fix: `set promotesTo of ${culprit.name} to the next environment in the order, or to null for the last one`,
    });
  }
  return onCycle;
}

interface Versions {
  chart?: string;
  image?: string;
  release: OryRelease;
}

function versionsOf(
  environment: Environment,
  context: OryContext,
): Map<string, Versions> {
  const versions = new Map<string, Versions>();
  for (const release of context.releases) {
    if (release.environment?.name !== environment.name) continue;
    const chart = release.chart.digest ? undefined : release.chart.version;
    const image = imageOf(release).tag;
    versions.set(release.service, {
      ...(chart !== undefined ? { chart } : {}),
      ...(image !== undefined ? { image } : {}),
      release,
    });
  }
  return versions;
}

/** No environment runs a chart or image newer than the one before it. */
function checkPromotionOrder(context: OryContext, cycles: Set<string>): void {
  const byName = new Map(
    context.environments.map((environment) => [environment.name, environment]),
  );
  for (const source of context.environments) {
    // A loop has no before and after, and its own finding reports it.
    if (cycles.has(source.name)) continue;
    const target = source.promotesTo
      ? byName.get(source.promotesTo)
      : undefined;
    if (!target) continue;
    const before = versionsOf(source, context);
    for (const [service, after] of versionsOf(target, context)) {
      const earlier = before.get(service);
      if (!earlier) continue;
      for (const what of ["chart", "image"] as const) {
        const newer = after[what];
        const older = earlier[what];
        // Ranges and tags such as "latest" have no order; other rules report them.
        if (
          !newer ||
          !older ||
          !isPlainVersion(newer) ||
          !isPlainVersion(older)
        )
          continue;
        if (compareVersions(newer, older) <= 0) continue;
        const release = after.release;
        const [object, path] =
          what === "chart"
            ? [release.chart.object, release.chart.versionPath]
            : [release.object, ["spec", "values", ...imageOf(release).path]];
        reportObject(context, object, path, {
          rule: "ory-promotion-order",
          severity: "error",
          message: `${target.name} runs ${service} ${what} ${newer}, newer than ${older} in ${source.name}, which promotes to it: this version skipped testing there`,
          fix: `bump ${source.name} first and promote it with \`npm run promote -- ${source.name} ${target.name}\``,
        });
      }
    }
  }
}

/** Drops what does not order versions: a leading v, `+build` and a digest. */
function versionCore(value: string): string {
  return value
    .replace(/@sha256:[0-9a-f]+$/i, "")
    .replace(/\+[0-9A-Za-z.-]*$/, "")
    .replace(/^v/, "");
}

function isPlainVersion(value: string): boolean {
  return /^\d+(\.\d+)*(-[0-9A-Za-z.-]+)?$/.test(versionCore(value));
}

/**
 * Compares versions by semver precedence: dotted numbers first (missing
 * parts count as 0), then a pre-release (`-rc.1`) ranks below the release
 * itself. A leading v, build metadata and an `@sha256:` digest are ignored.
 */
export function compareVersions(a: string, b: string): number {
  const [mainA = "", preA] = splitPreRelease(versionCore(a));
  const [mainB = "", preB] = splitPreRelease(versionCore(b));
  const order = compareIdentifiers(mainA.split("."), mainB.split("."), "0");
  if (order !== 0) return order;
  if (preA === undefined || preB === undefined) {
    if (preA === preB) return 0;
    return preA === undefined ? 1 : -1;
  }
  return compareIdentifiers(preA.split("."), preB.split("."));
}

function splitPreRelease(version: string): [string, string | undefined] {
  const dash = version.indexOf("-");
  return dash === -1
    ? [version, undefined]
    : [version.slice(0, dash), version.slice(dash + 1)];
}

/**
 * Compares dot-separated identifiers: numbers numerically and below text,
 * text in ASCII order. With `filler`, a missing part counts as that value;
 * without, the shorter list ranks lower, as in a semver pre-release.
 */
function compareIdentifiers(
  left: string[],
  right: string[],
  filler?: string,
): number {
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const x = left[index] ?? filler;
    const y = right[index] ?? filler;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const xNumeric = /^\d+$/.test(x);
    const yNumeric = /^\d+$/.test(y);
    if (xNumeric && yNumeric) {
      const order = Math.sign(Number(x) - Number(y));
      if (order !== 0) return order;
    } else if (xNumeric !== yNumeric) {
      return xNumeric ? -1 : 1;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}
