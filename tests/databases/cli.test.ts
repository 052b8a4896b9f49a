import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { main } from "../../bootstrap/databases/command.js";

// Runs bootstrap/main.ts as `npm run bootstrap` does, to check the
// dispatcher, the exit codes and what reaches stdout and stderr. Each run
// costs a second or two of compiling, so only these few cases spawn one.
const root = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../..",
);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function bootstrap(...args: string[]): Promise<Outcome> {
  const env = { ...process.env };
  delete env.CRDB_ADMIN_DSN;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "bootstrap/main.ts", ...args],
      { cwd: root, env },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: number }).code) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("npm run bootstrap", () => {
  test.concurrent("--help lists subcommands", async () => {
    const result = await bootstrap("--help");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("databases");
  });

  test.concurrent("unknown subcommand is exit 2", async () => {
    const result = await bootstrap("clusters");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown subcommand "clusters"');
    expect(result.stdout).toBe("");
  });

  test("databases --help prints its usage", async () => {
    let output = "";
    const code = await main(["--help"], {
      writeOutput: (text) => (output += text),
    });
    expect(code).toBe(0);
    expect(output).toContain("--rotate-passwords");
    expect(output).toContain("--regenerate-app-secrets");
  });

  test("help and docs run npm silently for JSON", async () => {
    let output = "";
    await main(["--help"], { writeOutput: (text) => (output += text) });
    expect(output).toContain("Usage: npm run -s bootstrap -- databases");
    const docs = await readFile(
      path.join(root, "docs/bootstrap-databases.md"),
      "utf8",
    );
    expect(docs).toContain(
      "npm run -s bootstrap -- databases dev --format json",
    );
  });

  test.concurrent("invalid admin DSN hides its password", async () => {
    const result = await bootstrap(
      "databases",
      "dev",
      "--admin-dsn",
      "postgresql://root:TopSecret99@crdb:notaport/defaultdb",
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--admin-dsn is not a valid URL");
    expect(result.stderr).not.toContain("TopSecret99");
  });
});
