import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import {
  validate,
  type ValidateResult,
} from "../../tools/validate/validate.js";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");

/** Writes `files` (relative path to content) into a new temporary folder. */
export async function writeTree(
  files: Record<string, string>,
): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), "validate-test-"));
  for (const [relative, content] of Object.entries(files)) {
    const absolute = path.join(root, relative);
    await mkdir(path.dirname(absolute), { recursive: true });
    await writeFile(absolute, content);
  }
  return root;
}

export async function removeTree(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}

/** Validates a tree built from `files` and removes it afterwards. */
export async function validateFiles(
  files: Record<string, string>,
): Promise<ValidateResult> {
  const root = await writeTree(files);
  try {
    return await validate({ root });
  } finally {
    await removeTree(root);
  }
}

/** Rule ids of the error findings, sorted, for exact comparisons. */
export function errorRules(result: ValidateResult): string[] {
  return result.findings
    .filter((finding) => finding.severity === "error")
    .map((finding) => finding.rule)
    .sort();
}

/** Runs the validate command as a user would, returning exit code and output. */
export function runValidateCommand(
  args: string[],
  environment: Record<string, string> = {},
): {
  status: number;
  stdout: string;
  stderr: string;
} {
  const result = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(REPO_ROOT, "tools/validate/main.ts"),
      ...args,
    ],
    {
      encoding: "utf8",
      cwd: REPO_ROOT,
      env: { ...process.env, ...environment },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 120_000,
    },
  );
  return {
    status: result.status ?? -1,
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

/** A GitRepository and a root Kustomization applying `./apps`. */
export const FLUX_ENTRY = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m
  url: https://github.com/example/fleet
  ref:
    branch: main
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`;

export const HELM_REPOSITORY = `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 1h
  url: https://stefanprodan.github.io/podinfo
`;

export const HELM_RELEASE = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 10m
  chart:
    spec:
      chart: podinfo
      version: 6.7.1
      sourceRef:
        kind: HelmRepository
        name: podinfo
  values:
    replicaCount: 2
`;

export const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: nginx:1.27.3
`;
