import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { readPins } from "../../tools/promote/pins.js";

// Renovate is not installed here, so this checks what it would extract by
// running the custom managers' patterns with JavaScript's regex engine on
// the real pin files. Renovate runs them with RE2, which has no lookaround
// or backreference, so those are rejected too.
const root = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../..",
);

interface CustomManager {
  customType: string;
  managerFilePatterns: string[];
  matchStrings: string[];
  datasourceTemplate: string;
  depTypeTemplate: string;
}

async function renovateConfig(): Promise<{
  enabledManagers: string[];
  customManagers: CustomManager[];
}> {
  return JSON.parse(await readFile(path.join(root, "renovate.json"), "utf8"));
}

function filePattern(pattern: string): RegExp {
  const match = /^\/(.*)\/$/.exec(pattern);
  if (!match) throw new Error(`${pattern} is not a /regex/ pattern`);
  return new RegExp(match[1] as string);
}

const FILES = [
  "environments/dev/ory/versions.yaml",
  "environments/dev/crdb/versions.yaml",
];

describe("renovate.json", () => {
  test("only the custom regex manager runs", async () => {
    const config = await renovateConfig();

    expect(config.enabledManagers).toEqual(["custom.regex"]);
  });

  test("managers match only dev pin files", async () => {
    const config = await renovateConfig();
    const candidates = ["dev", "staging", "production"].flatMap((env) => [
      `environments/${env}/ory/versions.yaml`,
      `environments/${env}/crdb/versions.yaml`,
    ]);

    for (const manager of config.customManagers) {
      const matched = candidates.filter((file) =>
        manager.managerFilePatterns.some((p) => filePattern(p).test(file)),
      );
      expect(matched.length).toBe(1);
      expect(matched[0]).toMatch(/^environments\/dev\//);
    }
  });

  test("patterns use no lookaround or backreference", async () => {
    const config = await renovateConfig();

    for (const manager of config.customManagers) {
      for (const pattern of manager.matchStrings) {
        expect(pattern).not.toMatch(/\(\?[=!]|\(\?<[=!]|\\[1-9]/);
      }
    }
  });

  test("extracts every dev pin exactly once", async () => {
    const config = await renovateConfig();

    for (const file of FILES) {
      const text = await readFile(path.join(root, file), "utf8");
      const expected = readPins(text, file)
        .map((pin) => `${pin.field} ${pin.service} ${pin.value}`)
        .sort();
      const extracted: string[] = [];
      for (const manager of config.customManagers) {
        if (
          !manager.managerFilePatterns.some((p) => filePattern(p).test(file))
        ) {
          continue;
        }
        for (const pattern of manager.matchStrings) {
          for (const match of text.matchAll(new RegExp(pattern, "g"))) {
            extracted.push(
              `${manager.depTypeTemplate} ${match.groups?.depName} ${match.groups?.currentValue}`,
            );
          }
        }
      }
      expect(extracted.sort()).toEqual(expected);
    }
  });
});
