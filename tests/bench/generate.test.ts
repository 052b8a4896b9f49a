import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  generateRepository,
  mistakeCount,
  removeRepository,
  type GeneratedRepository,
} from "../../bench/generate.js";
import {
  checkMistakes,
  MISTAKE_KINDS,
  type SeededMistake,
} from "../../bench/mistakes.js";
import type { Finding } from "../../tools/validate/findings.js";
import {
  validate,
  type ValidateResult,
} from "../../tools/validate/validate.js";

describe("bench repository generator", () => {
  let repository: GeneratedRepository;
  let result: ValidateResult;

  beforeAll(async () => {
    repository = await generateRepository({ objects: 100 });
    result = await validate({ root: repository.root });
  });

  afterAll(async () => {
    if (repository) await removeRepository(repository.root);
  });

  it("seeds one mistake of each kind", () => {
    expect(repository.mistakes).toHaveLength(mistakeCount(100));
    const kinds = repository.mistakes.map((mistake) => mistake.kind).sort();
    expect(kinds).toEqual([...MISTAKE_KINDS].sort());
  });

  it("renders exactly the planned objects", () => {
    expect(result.summary.objects).toBe(100);
    expect(result.summary.validated).toBe(100);
    expect(result.skipped).toEqual([]);
  });

  it("validator reports exactly the seeded mistakes", () => {
    const errors = result.findings
      .filter((finding) => finding.severity === "error")
      .map((finding) => `${finding.rule} ${finding.file}`)
      .sort();
    const seeded = repository.mistakes
      .map((mistake) => `${mistake.rule} ${mistake.file}`)
      .sort();
    expect(errors).toEqual(seeded);
  });

  it("validator reports each mistake at its line", () => {
    for (const mistake of repository.mistakes) {
      const finding = result.findings.find(
        (candidate) =>
          candidate.rule === mistake.rule && candidate.file === mistake.file,
      );
      expect(finding?.line, `${mistake.kind} in ${mistake.file}`).toBe(
        mistake.line,
      );
    }
  });

  it("writes the same files for the same seed", async () => {
    const again = await generateRepository({ objects: 100 });
    try {
      const files = listFiles(repository.root);
      expect(listFiles(again.root)).toEqual(files);
      for (const file of files) {
        const [first, second] = await Promise.all(
          [repository.root, again.root].map((root) =>
            readFile(path.join(root, file), "utf8"),
          ),
        );
        expect(second, file).toBe(first);
      }
      expect(again.mistakes).toEqual(repository.mistakes);
    } finally {
      await removeRepository(again.root);
    }
  });

  it("rejects sizes below the minimum", async () => {
    await expect(generateRepository({ objects: 50 })).rejects.toThrow(
      /at least 100/,
    );
  });
});

describe("checkMistakes", () => {
  const mistake = (file: string): SeededMistake => ({
    kind: "bad-interval",
    rule: "flux-duration",
    file,
    line: 7,
    description: "interval written as `5 minutes`",
  });
  const finding = (
    file: string,
    severity: Finding["severity"] = "error",
  ): Finding => ({
    rule: "flux-duration",
    severity,
    file,
    line: 7,
    column: 13,
    message: "spec.interval does not match the pattern",
  });

  it("matches findings by rule and file", () => {
    const check = checkMistakes(
      [mistake("a.yaml"), mistake("b.yaml")],
      [finding("b.yaml"), finding("a.yaml")],
    );
    expect(check.found).toBe(2);
    expect(check.missed).toEqual([]);
    expect(check.unexpected).toEqual([]);
  });

  it("lists missed and unexpected ones", () => {
    const check = checkMistakes(
      [mistake("a.yaml"), mistake("b.yaml")],
      [finding("a.yaml"), finding("c.yaml")],
    );
    expect(check.found).toBe(1);
    expect(check.missed.map((missed) => missed.file)).toEqual(["b.yaml"]);
    expect(check.unexpected.map((extra) => extra.file)).toEqual(["c.yaml"]);
  });

  it("treats a duplicate finding as unexpected", () => {
    const check = checkMistakes(
      [mistake("a.yaml")],
      [finding("a.yaml"), finding("a.yaml")],
    );
    expect(check.found).toBe(1);
    expect(check.unexpected).toHaveLength(1);
  });

  it("ignores warnings and notes", () => {
    const check = checkMistakes(
      [],
      [finding("a.yaml", "warning"), finding("b.yaml", "note")],
    );
    expect(check.unexpected).toEqual([]);
  });
});

/** Lists every file the generator wrote, all of which are YAML. */
function listFiles(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[])
    .filter((file) => file.endsWith(".yaml"))
    .sort();
}
