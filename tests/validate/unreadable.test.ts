import * as fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { UsageError } from "../../tools/lib/errors.js";
import { validate } from "../../tools/validate/validate.js";
import {
  DEPLOYMENT,
  FLUX_ENTRY,
  HELM_RELEASE,
  HELM_REPOSITORY,
  removeTree,
  writeTree,
} from "./fixture.js";

// Tests run as root, which no file mode stops, so opening one file fails
// here the way it does for a user without read permission.
const denied = new Set<string>();
vi.mock("node:fs", async (importOriginal) => {
  const original = await importOriginal<typeof fs>();
  return {
    ...original,
    openSync: (file: fs.PathLike, ...rest: unknown[]) => {
      if (denied.has(String(file))) {
        throw Object.assign(
          new Error(`EACCES: permission denied, open '${String(file)}'`),
          {
            code: "EACCES",
          },
        );
      }
      return (original.openSync as (...args: unknown[]) => number)(
        file,
        ...rest,
      );
    },
    readdirSync: (folder: fs.PathLike, ...rest: unknown[]) => {
      if (denied.has(String(folder))) {
        throw Object.assign(
          new Error(`EACCES: permission denied, scandir '${String(folder)}'`),
          { code: "EACCES" },
        );
      }
      return (original.readdirSync as (...args: unknown[]) => unknown)(
        folder,
        ...rest,
      );
    },
  };
});

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map(removeTree));
});

describe("unreadable files", () => {
  it("are reported, not skipped", async () => {
    const root = await writeTree({
      "clusters/test/flux.yaml": FLUX_ENTRY,
      "apps/repository.yaml": HELM_REPOSITORY,
      "apps/release.yaml": HELM_RELEASE,
      "apps/deployment.yaml": DEPLOYMENT,
    });
    roots.push(root);
    denied.add(path.join(root, "apps/deployment.yaml"));

    const result = await validate({ root });

    expect(result.summary.files).toBe(4);
    const finding = result.findings.find(
      (candidate) => candidate.rule === "yaml-unreadable",
    );
    expect(finding?.file).toBe("apps/deployment.yaml");
    expect(finding?.message).toContain("EACCES");
    expect(result.summary.errors).toBeGreaterThan(0);
  });

  it("stop the run when a folder cannot be listed", async () => {
    // Outside git, the validator lists files by walking the folders.
    const root = await writeTree({
      "clusters/test/flux.yaml": FLUX_ENTRY,
      "apps/deployment.yaml": DEPLOYMENT,
    });
    roots.push(root);
    denied.add(path.join(root, "apps"));

    const failure = await validate({ root }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UsageError);
    expect((failure as Error).message).toMatch(
      /cannot read the folder .*apps \(EACCES\)/,
    );
  });
});
