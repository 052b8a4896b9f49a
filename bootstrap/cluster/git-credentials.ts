import { readFile } from "node:fs/promises";
import { UsageError } from "../../tools/lib/errors.js";
import type { KubernetesObject } from "../../tools/lib/kubernetes.js";

/**
 * Credentials Flux's source-controller pulls this repository with. `source`
 * names the flag or variable they came from, for logs, because the secret
 * itself is never logged.
 */
export type GitCredentials =
  | { kind: "token"; username: string; token: string; source: string }
  | { kind: "ssh"; identity: string; knownHosts: string; source: string };

export interface GitCredentialFlags {
  token?: string;
  username?: string;
  deployKeyFile?: string;
  knownHostsFile?: string;
}

export const TOKEN_VARIABLE = "FLUX_GIT_TOKEN";
export const DEPLOY_KEY_VARIABLE = "FLUX_DEPLOY_KEY";
export const KNOWN_HOSTS_VARIABLE = "FLUX_KNOWN_HOSTS";

/**
 * Reads the Git credentials from the flags, else from FLUX_GIT_TOKEN or
 * FLUX_DEPLOY_KEY with FLUX_KNOWN_HOSTS. Returns null when none is given.
 */
export async function readGitCredentials(
  flags: GitCredentialFlags,
  environment: Record<string, string | undefined>,
): Promise<GitCredentials | null> {
  const token = flags.token ?? environment[TOKEN_VARIABLE];
  const tokenSource =
    flags.token !== undefined ? "--git-token" : TOKEN_VARIABLE;
  const key = flags.deployKeyFile
    ? await readSecretFile(flags.deployKeyFile, "--deploy-key")
    : environment[DEPLOY_KEY_VARIABLE];
  const keySource = flags.deployKeyFile ? "--deploy-key" : DEPLOY_KEY_VARIABLE;

  if (token && key) {
    throw new UsageError(
      `both a Git token (${tokenSource}) and a deploy key (${keySource}) are set; keep the one that matches the GitRepository URL`,
    );
  }
  if (token) {
    return {
      kind: "token",
      username: flags.username ?? "git",
      token: token.trim(),
      source: tokenSource,
    };
  }
  if (!key) return null;

  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
    throw new UsageError(
      `the deploy key from ${keySource} is not a PEM or OpenSSH private key; pass the private half of the key pair`,
    );
  }
  const knownHosts = flags.knownHostsFile
    ? await readSecretFile(flags.knownHostsFile, "--known-hosts")
    : environment[KNOWN_HOSTS_VARIABLE];
  if (!knownHosts?.trim()) {
    throw new UsageError(
      `a deploy key needs the Git server's host keys: pass --known-hosts FILE or set ${KNOWN_HOSTS_VARIABLE} (for GitHub: ssh-keyscan github.com > known_hosts, then check the keys against GitHub's published fingerprints)`,
    );
  }
  return { kind: "ssh", identity: key, knownHosts, source: keySource };
}

async function readSecretFile(file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(
      `cannot read ${file} (${flag}): ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Checks that the credentials fit the GitRepository URL: a token for
 * https, a deploy key for ssh. Throws a UsageError naming the fix.
 */
export function checkCredentialsFitUrl(
  credentials: GitCredentials,
  url: string,
  file: string,
): void {
  const ssh = url.startsWith("ssh://");
  if (ssh && credentials.kind === "token") {
    throw new UsageError(
      `${file} pulls over SSH (${url}) but a token was given (${credentials.source}); pass --deploy-key FILE instead`,
    );
  }
  if (!ssh && credentials.kind === "ssh") {
    throw new UsageError(
      `${file} pulls over HTTPS (${url}) but a deploy key was given (${credentials.source}); pass a token with ${TOKEN_VARIABLE} instead, or change the URL to ssh://`,
    );
  }
}

/** Builds the Secret source-controller reads, in the format Flux documents. */
export function gitCredentialsSecret(
  credentials: GitCredentials,
  name: string,
  namespace: string,
): KubernetesObject & { type: string; data: Record<string, string> } {
  const values: Record<string, string> =
    credentials.kind === "token"
      ? { username: credentials.username, password: credentials.token }
      : { identity: credentials.identity, known_hosts: credentials.knownHosts };
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace },
    type: "Opaque",
    data: Object.fromEntries(
      Object.entries(values).map(([key, value]) => [
        key,
        Buffer.from(value, "utf8").toString("base64"),
      ]),
    ),
  };
}
