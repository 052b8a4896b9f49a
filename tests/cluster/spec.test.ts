import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, test } from "vitest";
import {
  listClusterNames,
  loadDesiredCluster,
} from "../../bootstrap/cluster/spec.js";
import { makeRepo, orySpec, removeRepo } from "./helpers.js";

const REPO_ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../..",
);

let repo: string | undefined;

afterEach(async () => {
  if (repo) await removeRepo(repo);
  repo = undefined;
});

describe("loadDesiredCluster", () => {
  test("every cluster of this repository loads", async () => {
    const names = await listClusterNames(REPO_ROOT);
    expect(names.length).toBeGreaterThan(0);

    for (const name of names) {
      const desired = await loadDesiredCluster(REPO_ROOT, name);
      expect(desired.spec.name).toBe(name);
      expect(desired.subnetIds.length).toBeGreaterThanOrEqual(3);
      expect(desired.spec.nodeGroup.name).toBe("standard-workers");
    }
  });

  test("both clusters of an environment load", async () => {
    const ory = await loadDesiredCluster(REPO_ROOT, "dev-ory");
    const crdb = await loadDesiredCluster(REPO_ROOT, "dev-crdb");

    expect(ory.spec.role).toBe("ory");
    expect(crdb.spec.role).toBe("crdb");
    expect(crdb.spec.nodeGroup.minSize).toBe(3);
  });

  test("schema problems name file and line", async () => {
    repo = await makeRepo("dev-ory", {
      spec: { nodeGroup: { name: "standard-workers" } },
    });

    await expect(loadDesiredCluster(repo, "dev-ory")).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(
        /clusters\/dev-ory\/cluster\.yaml:\d+: nodeGroup: missing required field "instanceType"/,
      ),
    });
  });

  test("zone outside the environment is rejected", async () => {
    repo = await makeRepo("dev-ory", {
      spec: {
        subnets: {
          "us-east-1a": ["subnet-0a1b2c3d4e5f6001"],
          "us-east-1b": ["subnet-0a1b2c3d4e5f6002"],
          "us-east-1e": ["subnet-0a1b2c3d4e5f6003"],
        },
      },
    });

    await expect(loadDesiredCluster(repo, "dev-ory")).rejects.toMatchObject({
      message: expect.stringContaining("subnets lists us-east-1e"),
    });
  });

  test("role must match the environment", async () => {
    const nodeGroup = { ...orySpec().nodeGroup, minSize: 3 };
    repo = await makeRepo("dev-ory", { spec: { role: "crdb", nodeGroup } });

    await expect(loadDesiredCluster(repo, "dev-ory")).rejects.toMatchObject({
      message: expect.stringContaining('names "dev-crdb" as its crdb cluster'),
    });
  });

  test("path-like names are rejected", async () => {
    await expect(loadDesiredCluster(REPO_ROOT, "../etc")).rejects.toMatchObject(
      {
        exitCode: 2,
        message: expect.stringContaining('invalid cluster name "../etc"'),
      },
    );
  });
});
