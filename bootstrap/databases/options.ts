import { UsageError } from "../../tools/lib/errors.js";
import { APPLICATION_SECRETS } from "./credentials.js";
import type { Targets } from "./targets.js";

const ROTATE = "--rotate-passwords";

/** The users that --rotate-passwords requests: none, every user, or some. */
export type RotationRequest =
  { kind: "none" } | { kind: "all" } | { kind: "named"; names: string[] };

/**
 * Takes --rotate-passwords out of argv, because node:util's parseArgs has
 * no option with an optional value. `--rotate-passwords=LIST` always
 * carries a list. In `--rotate-passwords WORD`, WORD is a list only when
 * another positional argument names the environment: `databases dev
 * --rotate-passwords hydra` rotates hydra, `databases --rotate-passwords
 * dev` rotates every user of dev. `parse` parses the remaining argv and
 * returns its positionals, which this function may extend.
 */
export function takeRotationRequest<T extends { positionals: string[] }>(
  argv: string[],
  parse: (argv: string[]) => T,
): { parsed: T; rotation: RotationRequest } {
  const rest: string[] = [];
  const names: string[] = [];
  let bare = false;
  const candidates: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (token.startsWith(`${ROTATE}=`)) {
      names.push(...splitList(token.slice(ROTATE.length + 1)));
      continue;
    }
    if (token !== ROTATE) {
      rest.push(token);
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith("-")) {
      candidates.push(next);
      i++;
    } else {
      bare = true;
    }
  }

  const parsed = parse(rest);
  if (parsed.positionals.length === 0 && candidates.length === 1) {
    parsed.positionals.push(candidates[0]!);
    bare = true;
  } else {
    for (const candidate of candidates) names.push(...splitList(candidate));
  }
  if (bare) return { parsed, rotation: { kind: "all" } };
  if (names.length > 0) return { parsed, rotation: { kind: "named", names } };
  return { parsed, rotation: { kind: "none" } };
}

function splitList(text: string): string[] {
  const names = text.split(",").map((name) => name.trim());
  if (names.some((name) => name === "")) {
    throw new UsageError(
      `${ROTATE}=${text} has an empty name; give a comma-separated list such as ${ROTATE}=hydra,kratos`,
    );
  }
  return names;
}

/**
 * Returns the SQL users that a RotationRequest names. A name is a user
 * (e.g. ory_smoke) or a service (hydra, kratos, keto), which means its user.
 */
export function resolveRotationUsers(
  request: RotationRequest,
  targets: Targets,
): string[] {
  const everyone = [
    ...targets.services.map((service) => service.user),
    targets.smoke.user,
  ];
  if (request.kind === "none") return [];
  if (request.kind === "all") return everyone;
  const users = new Set<string>();
  for (const name of request.names) {
    const service = targets.services.find((s) => s.service === name);
    const user = service?.user ?? (everyone.includes(name) ? name : undefined);
    if (!user) {
      throw new UsageError(
        `${ROTATE} names "${name}", which is neither a user (${everyone.join(", ")}) nor a service (${targets.services.map((s) => s.service).join(", ")}) of this environment`,
      );
    }
    users.add(user);
  }
  return everyone.filter((user) => users.has(user));
}

/**
 * Reads --regenerate-app-secrets values, each a comma-separated list of
 * SERVICE.KEY (hydra.secretsSystem) or SERVICE (every key of hydra).
 * Returns SERVICE.KEY names.
 */
export function parseRegenerateAppSecrets(
  values: readonly string[] | undefined,
): Set<string> {
  const known = Object.entries(APPLICATION_SECRETS).flatMap(([service, keys]) =>
    Object.keys(keys).map((key) => `${service}.${key}`),
  );
  const names = new Set<string>();
  for (const entry of (values ?? []).flatMap((value) => value.split(","))) {
    const name = entry.trim();
    const matching = known.filter(
      (candidate) => candidate === name || candidate.startsWith(`${name}.`),
    );
    if (matching.length === 0) {
      throw new UsageError(
        `--regenerate-app-secrets names "${name}"; use SERVICE.KEY or SERVICE from: ${known.join(", ")}`,
      );
    }
    for (const match of matching) names.add(match);
  }
  return names;
}
