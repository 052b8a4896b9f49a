import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { mkdtemp, open, readdir, readFile, writeFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT, removeTree } from "./fixture.js";

/** Process ids of kustomize runs on `folder`, from /proc. */
async function kustomizeRunsOn(folder: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const command = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(
      () => "",
    );
    const words = command.split("\0");
    if (words.includes("kustomize") && words.includes(folder))
      found.push(Number(entry));
  }
  return found;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

const folders: string[] = [];
afterAll(async () => {
  await Promise.all(folders.map(removeTree));
});

describe("kustomize children", () => {
  it("are killed when the validator is interrupted", async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), "kustomize-cleanup-"));
    folders.push(folder);
    // kustomize blocks opening a named pipe without a writer.
    const pipe = path.join(folder, "pipe.yaml");
    execFileSync("mkfifo", [pipe]);
    await writeFile(
      path.join(folder, "kustomization.yaml"),
      "resources:\n  - pipe.yaml\n",
    );
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(REPO_ROOT, "tests/validate/kustomize-child.ts"),
        folder,
      ],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("exit", (_code, signal) => resolve(signal)),
    );
    try {
      const started = await waitFor(
        async () => (await kustomizeRunsOn(folder)).length > 0,
        20_000,
      );
      expect(started).toBe(true);

      child.kill("SIGINT");

      expect(await exited).toBe("SIGINT");
      const released = await waitFor(
        async () => (await kustomizeRunsOn(folder)).length === 0,
        5_000,
      );
      expect(released).toBe(true);
    } finally {
      child.kill("SIGKILL");
      // Opening the write end lets a reader left behind see end of file.
      const writer = await open(
        pipe,
        constants.O_WRONLY | constants.O_NONBLOCK,
      ).catch(() => undefined);
      await writer?.close();
    }
  });
});
