import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  fluxSchema,
  removedApiVersion,
  type FluxSchemaFile,
} from "../../tools/validate/schemas/index.js";

const FLUX_DIR = "tools/validate/schemas/flux";

const SERVED: [string, string][] = [
  ["kustomize.toolkit.fluxcd.io/v1", "Kustomization"],
  ["helm.toolkit.fluxcd.io/v2", "HelmRelease"],
  ["source.toolkit.fluxcd.io/v1", "GitRepository"],
  ["source.toolkit.fluxcd.io/v1", "HelmRepository"],
  ["source.toolkit.fluxcd.io/v1", "HelmChart"],
  ["source.toolkit.fluxcd.io/v1", "Bucket"],
  ["source.toolkit.fluxcd.io/v1", "OCIRepository"],
  ["notification.toolkit.fluxcd.io/v1beta3", "Provider"],
  ["notification.toolkit.fluxcd.io/v1beta3", "Alert"],
  ["notification.toolkit.fluxcd.io/v1", "Receiver"],
];

/** Keywords that the structural schema format allows. */
const KEYWORDS = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "enum",
  "pattern",
  "format",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "nullable",
  "oneOf",
  "anyOf",
  "x-kubernetes-int-or-string",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-embedded-resource",
  "x-kubernetes-validations",
]);

function schemaFiles(): string[] {
  return readdirSync(FLUX_DIR).filter((name) => name !== "removed.json");
}

function unknownKeywords(node: unknown, path: string, found: string[]) {
  if (!node || typeof node !== "object" || Array.isArray(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (!KEYWORDS.has(key)) found.push(`${path}.${key}`);
    if (key === "properties") {
      for (const [name, child] of Object.entries(value as object)) {
        unknownKeywords(child, `${path}.${name}`, found);
      }
    } else if (key === "items" || key === "additionalProperties") {
      unknownKeywords(value, `${path}[]`, found);
    } else if (key === "oneOf" || key === "anyOf") {
      (value as unknown[]).forEach((child) =>
        unknownKeywords(child, path, found),
      );
    }
  }
}

describe("flux schema files", () => {
  it("cover the served kinds", () => {
    const expected = SERVED.map(([apiVersion, kind]) => {
      const [group, version] = apiVersion.split("/");
      return `${group}_${version}_${kind}.json`;
    });
    expect(schemaFiles().sort()).toEqual(expected.sort());
  });

  it("name their apiVersion and kind", () => {
    for (const name of schemaFiles()) {
      const file = JSON.parse(
        readFileSync(join(FLUX_DIR, name), "utf8"),
      ) as FluxSchemaFile;
      const [group, version] = file.apiVersion.split("/");
      expect(name).toBe(`${group}_${version}_${file.kind}.json`);
    }
  });

  it("use only structural keywords", () => {
    for (const name of schemaFiles()) {
      const file = JSON.parse(readFileSync(join(FLUX_DIR, name), "utf8"));
      const found: string[] = [];
      unknownKeywords(file.schema, "", found);
      expect(found, name).toEqual([]);
    }
  });

  it("leave out status", () => {
    for (const [apiVersion, kind] of SERVED) {
      const schema = fluxSchema(apiVersion, kind);
      expect(schema?.properties?.spec, kind).toBeDefined();
      expect(schema?.properties?.status, kind).toBeUndefined();
    }
  });
});

describe("fluxSchema", () => {
  it("has HelmRelease chart and chartRef", () => {
    const spec = fluxSchema("helm.toolkit.fluxcd.io/v2", "HelmRelease")
      ?.properties?.spec;
    expect(spec?.properties?.chart?.required).toEqual(["spec"]);
    expect(spec?.properties?.chartRef?.required).toEqual(["kind", "name"]);
    expect(spec?.properties?.chartRef?.properties?.kind?.enum).toContain(
      "OCIRepository",
    );
    expect(spec?.properties?.values).toEqual({
      "x-kubernetes-preserve-unknown-fields": true,
    });
    expect(spec?.required).toEqual(["interval"]);
    expect(spec?.["x-kubernetes-validations"]).toContainEqual({
      rule: "(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))",
      message: "either chart or chartRef must be set",
    });
  });

  it("has Kustomization postBuild and interval", () => {
    const spec = fluxSchema("kustomize.toolkit.fluxcd.io/v1", "Kustomization")
      ?.properties?.spec;
    expect(spec?.properties?.postBuild?.properties?.substitute).toEqual({
      type: "object",
      additionalProperties: { type: "string" },
    });
    expect(spec?.required).toEqual(["interval", "prune", "sourceRef"]);

    const pattern = new RegExp(spec?.properties?.interval?.pattern ?? "^$");
    for (const interval of ["10m", "1h30m", "0.5s", "500ms"]) {
      expect(pattern.test(interval), interval).toBe(true);
    }
    for (const interval of ["10", "5 m", "1d", ""]) {
      expect(pattern.test(interval), interval).toBe(false);
    }
  });

  it("returns undefined for removed versions", () => {
    expect(
      fluxSchema("helm.toolkit.fluxcd.io/v2beta2", "HelmRelease"),
    ).toBeUndefined();
    expect(
      fluxSchema("source.toolkit.fluxcd.io/v1beta2", "OCIRepository"),
    ).toBeUndefined();
  });

  it("rejects names outside Flux", () => {
    expect(fluxSchema("apps/v1", "Deployment")).toBeUndefined();
    expect(
      fluxSchema("helm.toolkit.fluxcd.io/v2", "../removed"),
    ).toBeUndefined();
    expect(fluxSchema("v1", "Pod")).toBeUndefined();
  });
});

describe("removedApiVersion", () => {
  it("maps removed versions to current ones", () => {
    const cases: [string, string | undefined, string][] = [
      [
        "helm.toolkit.fluxcd.io/v2beta1",
        "HelmRelease",
        "helm.toolkit.fluxcd.io/v2",
      ],
      [
        "helm.toolkit.fluxcd.io/v2beta2",
        "HelmRelease",
        "helm.toolkit.fluxcd.io/v2",
      ],
      [
        "kustomize.toolkit.fluxcd.io/v1beta1",
        undefined,
        "kustomize.toolkit.fluxcd.io/v1",
      ],
      [
        "kustomize.toolkit.fluxcd.io/v1beta2",
        "Kustomization",
        "kustomize.toolkit.fluxcd.io/v1",
      ],
      [
        "source.toolkit.fluxcd.io/v1beta1",
        "GitRepository",
        "source.toolkit.fluxcd.io/v1",
      ],
      [
        "source.toolkit.fluxcd.io/v1beta2",
        "OCIRepository",
        "source.toolkit.fluxcd.io/v1",
      ],
      [
        "notification.toolkit.fluxcd.io/v1beta1",
        "Alert",
        "notification.toolkit.fluxcd.io/v1beta3",
      ],
      [
        "notification.toolkit.fluxcd.io/v1beta2",
        "Provider",
        "notification.toolkit.fluxcd.io/v1beta3",
      ],
      [
        "notification.toolkit.fluxcd.io/v1beta2",
        "Receiver",
        "notification.toolkit.fluxcd.io/v1",
      ],
      [
        "image.toolkit.fluxcd.io/v1beta2",
        "ImagePolicy",
        "image.toolkit.fluxcd.io/v1",
      ],
    ];
    for (const [apiVersion, kind, current] of cases) {
      expect(
        removedApiVersion(apiVersion, kind)?.current,
        `${apiVersion} ${kind}`,
      ).toBe(current);
    }
  });

  it("points at served schemas", () => {
    for (const [apiVersion, kind] of SERVED) {
      const old = apiVersion.replace(/\/v\w+$/, "/v1beta2");
      const replacement = removedApiVersion(old, kind);
      if (replacement === undefined) continue;
      expect(
        fluxSchema(replacement.current, kind),
        `${old} ${kind}`,
      ).toBeDefined();
    }
  });

  it("returns undefined for served versions", () => {
    for (const [apiVersion, kind] of SERVED) {
      expect(removedApiVersion(apiVersion, kind), apiVersion).toBeUndefined();
    }
    expect(removedApiVersion("apps/v1")).toBeUndefined();
  });
});
