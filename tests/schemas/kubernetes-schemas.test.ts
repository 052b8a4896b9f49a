import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  kubernetesSchema,
  resolveRef,
  type StructuralSchema,
} from "../../tools/validate/schemas/index.js";

const COMMITTED = "tools/validate/schemas/kubernetes.json";

function property(schema: StructuralSchema | undefined, name: string) {
  const node = schema?.properties?.[name];
  expect(node, `property ${name}`).toBeDefined();
  return node!.$ref ? resolveRef(node!.$ref) : node;
}

describe("kubernetes.json", () => {
  it("matches a fresh generation", () => {
    const dir = mkdtempSync(join(tmpdir(), "kubernetes-schemas-"));
    try {
      const output = join(dir, "kubernetes.json");
      execFileSync(
        "npx",
        ["tsx", "scripts/generate-kubernetes-schemas.ts", "--output", output],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      expect(readFileSync(output, "utf8")).toBe(
        readFileSync(COMMITTED, "utf8"),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("resolves every $ref", () => {
    const file = JSON.parse(readFileSync(COMMITTED, "utf8"));
    const missing: string[] = [];
    const walk = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === "object") {
        for (const [key, value] of Object.entries(node)) {
          if (key === "$ref" && typeof value === "string") {
            if (!file.definitions[value]) missing.push(value);
          } else walk(value);
        }
      }
    };
    walk(file.definitions);
    expect(missing).toEqual([]);
    for (const model of Object.values(file.kinds)) {
      expect(file.definitions[model as string]).toBeDefined();
    }
  });
});

describe("kubernetesSchema", () => {
  it("nests containers in a Deployment", () => {
    const deployment = kubernetesSchema("apps/v1", "Deployment");
    const spec = property(deployment, "spec");
    expect(spec?.required).toEqual(["selector", "template"]);

    const podSpec = property(property(spec, "template"), "spec");
    const containers = podSpec?.properties?.containers;
    expect(containers?.type).toBe("array");
    expect(containers?.items?.$ref).toBe("V1Container");

    const container = resolveRef("V1Container");
    expect(container?.properties?.name).toEqual({ type: "string" });
    expect(container?.properties?.image).toEqual({ type: "string" });
    expect(container?.required).toEqual(["name"]);
  });

  it("requires metadata.name on kinds", () => {
    const configMap = kubernetesSchema("v1", "ConfigMap");
    expect(configMap?.required).toEqual(["apiVersion", "kind", "metadata"]);
    expect(property(configMap, "metadata")?.required).toEqual(["name"]);
  });

  it("keeps templates free of the kind rules", () => {
    const template = resolveRef("V1PodTemplateSpec");
    expect(template?.properties?.metadata).toEqual({ $ref: "V1ObjectMeta" });
    expect(resolveRef("V1ObjectMeta")?.required).toBeUndefined();

    const claims = property(kubernetesSchema("apps/v1", "StatefulSet"), "spec")
      ?.properties?.volumeClaimTemplates;
    expect(claims?.items).toEqual({ $ref: "V1PersistentVolumeClaimNested" });
    expect(
      resolveRef("V1PersistentVolumeClaimNested")?.required,
    ).toBeUndefined();
  });

  it("drops status from kinds", () => {
    expect(
      kubernetesSchema("apps/v1", "Deployment")?.properties?.status,
    ).toBeUndefined();
    expect(
      kubernetesSchema("v1", "Namespace")?.properties?.status,
    ).toBeUndefined();
  });

  it("maps scalar types", () => {
    const port = resolveRef("V1ServicePort");
    expect(port?.required).toEqual(["port"]);
    expect(port?.properties?.port).toEqual({
      type: "integer",
      format: "int32",
    });
    expect(port?.properties?.targetPort).toEqual({
      "x-kubernetes-int-or-string": true,
    });
    expect(resolveRef("V1ObjectMeta")?.properties?.creationTimestamp).toEqual({
      type: "string",
      format: "date-time",
    });
    expect(kubernetesSchema("v1", "Secret")?.properties?.data).toEqual({
      type: "object",
      additionalProperties: { type: "string", format: "byte" },
    });
    expect(
      property(kubernetesSchema("apps/v1", "ControllerRevision"), "data"),
    ).toEqual({ "x-kubernetes-preserve-unknown-fields": true });
  });

  it("keys kinds by group and version", () => {
    const cases: [string, string, string][] = [
      ["v1", "Pod", "V1Pod"],
      ["v1", "Event", "CoreV1Event"],
      ["events.k8s.io/v1", "Event", "EventsV1Event"],
      ["rbac.authorization.k8s.io/v1", "Role", "V1Role"],
      [
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        "V2HorizontalPodAutoscaler",
      ],
      ["policy/v1", "PodDisruptionBudget", "V1PodDisruptionBudget"],
      ["networking.k8s.io/v1", "Ingress", "V1Ingress"],
      ["batch/v1", "CronJob", "V1CronJob"],
    ];
    for (const [apiVersion, kind, model] of cases) {
      expect(kubernetesSchema(apiVersion, kind), `${apiVersion} ${kind}`).toBe(
        resolveRef(model),
      );
    }
  });

  it("has no List kinds", () => {
    expect(kubernetesSchema("v1", "PodList")).toBeUndefined();
    expect(kubernetesSchema("apps/v1", "DeploymentList")).toBeUndefined();
  });

  it("returns undefined for unknown kinds", () => {
    expect(kubernetesSchema("apps/v1", "Pod")).toBeUndefined();
    expect(kubernetesSchema("example.com/v1", "Widget")).toBeUndefined();
  });
});
