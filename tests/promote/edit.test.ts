import { describe, expect, test } from "vitest";
import { applyPinEdits, unifiedDiff } from "../../tools/promote/edit.js";
import { readPins, renderScalar } from "../../tools/promote/pins.js";
import { comparePins } from "../../tools/promote/plan.js";
import { kustomizeReferences } from "../../tools/promote/sources.js";

const TARGET = `# Pins of this environment. Keep this comment.
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: hydra
  namespace: ory
spec:
  chart:
    spec:
      version: "0.62.1" # pinned after an incident
  values:
    image:
      tag: 'v26.2.0'
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: keto
  namespace: ory
spec:
  values:
    image:
      tag: v26.2.0
`;

const SOURCE = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: keto
  namespace: ory
spec:
  chart:
    spec:
      version: 0.62.2
  values:
    image:
      tag: v26.3.0
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: hydra
  namespace: ory
spec:
  chart:
    spec:
      version: 0.62.2
  values:
    image:
      tag: v26.3.0
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: oathkeeper
  namespace: ory
spec:
  values:
    image:
      tag: v26.3.0
`;

describe("pins", () => {
  test("reads values with lines and styles", () => {
    const pins = readPins(TARGET, "target.yaml");

    expect(
      pins.map((pin) => [pin.service, pin.field, pin.value, pin.line]),
    ).toEqual([
      ["hydra", "chart", "0.62.1", 10],
      ["hydra", "image", "v26.2.0", 13],
      ["keto", "image", "v26.2.0", 23],
    ]);
    expect(pins.map((pin) => pin.style)).toEqual([
      "QUOTE_DOUBLE",
      "QUOTE_SINGLE",
      "PLAIN",
    ]);
  });

  test("keeps a plain number-like version as written", () => {
    const pins = readPins(
      "kind: HelmRelease\nmetadata:\n  name: a\nspec:\n  chart:\n    spec:\n      version: 1.10\n",
      "f",
    );

    expect(pins[0]?.value).toBe("1.10");
  });

  test("invalid YAML names file and line", () => {
    expect(() => readPins("a: [\n", "broken.yaml")).toThrow(
      /broken\.yaml:\d+: invalid YAML/,
    );
  });

  test("plain scalar that would change type is quoted", () => {
    expect(renderScalar("1.10", "PLAIN")).toBe('"1.10"');
    expect(renderScalar("v26.3.0", "PLAIN")).toBe("v26.3.0");
    expect(renderScalar("0.62.2", "PLAIN")).toBe("0.62.2");
    expect(renderScalar("it's", "QUOTE_SINGLE")).toBe("'it''s'");
  });
});

describe("edits", () => {
  test("changes only the values and keeps style", () => {
    const pins = readPins(TARGET, "target.yaml");
    const edited = applyPinEdits(TARGET, [
      { pin: pins[0]!, value: "0.62.2" },
      { pin: pins[1]!, value: "v26.3.0" },
    ]);

    expect(edited).toBe(
      TARGET.replace('"0.62.1"', '"0.62.2"').replace("'v26.2.0'", "'v26.3.0'"),
    );
    expect(edited).toContain("# pinned after an incident");
  });

  test("compare pairs by object and skips what target lacks", () => {
    const { edits, skipped } = comparePins(
      "ory",
      readPins(SOURCE, "source.yaml"),
      readPins(TARGET, "target.yaml"),
    );

    expect(
      edits.map(({ edit }) => [
        edit.pin.service,
        edit.pin.field,
        edit.pin.value,
        edit.value,
      ]),
    ).toEqual([
      ["keto", "image", "v26.2.0", "v26.3.0"],
      ["hydra", "chart", "0.62.1", "0.62.2"],
      ["hydra", "image", "v26.2.0", "v26.3.0"],
    ]);
    expect(skipped.map((skip) => [skip.service, skip.field])).toEqual([
      ["keto", "chart"],
      ["oathkeeper", "image"],
    ]);
    expect(skipped[0]?.reason).toContain("does not pin the chart");
    expect(skipped[1]?.reason).toContain("has no HelmRelease oathkeeper");
  });

  test("unified diff shows changed lines with context", () => {
    const after = TARGET.replace("tag: v26.2.0", "tag: v26.3.0");

    expect(unifiedDiff("t.yaml", TARGET, after)).toBe(
      [
        "--- a/t.yaml",
        "+++ b/t.yaml",
        "@@ -20,4 +20,4 @@",
        " spec:",
        "   values:",
        "     image:",
        "-      tag: v26.2.0",
        "+      tag: v26.3.0",
        "",
      ].join("\n"),
    );
  });
});

describe("kustomize references", () => {
  test("lists local paths and skips remote ones", () => {
    const references = kustomizeReferences({
      resources: ["../base", "https://github.com/x/y//config", "ns.yaml"],
      components: ["../components/zone"],
      patches: [{ path: "versions.yaml" }, { patch: "inline" }],
      configMapGenerator: [
        { files: ["schema=identity.json"], envs: ["a.env"] },
      ],
    });

    expect(references).toEqual([
      "../base",
      "ns.yaml",
      "../components/zone",
      "versions.yaml",
      "identity.json",
      "a.env",
    ]);
  });
});
