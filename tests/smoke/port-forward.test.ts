import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { EndpointName } from "../../tools/lib/environment.js";
import { makeRepository, parseResult, runSmoke } from "./helpers.js";
import {
  startPortForwardStandIn,
  type PodSpec,
  type PortForwardStandIn,
  type ServiceSpec,
} from "./stand-ins/kubernetes-port-forward.js";
import { startOryStandIns, type OryStandIns } from "./stand-ins/ory.js";

// The Services and ports of the environment fixture, as the Ory charts
// create them. Two of them target a named container port.
const SERVICES: ServiceSpec[] = [
  {
    name: "hydra-public",
    port: 4444,
    targetPort: "http-public",
    selector: { app: "hydra" },
  },
  {
    name: "hydra-admin",
    port: 4445,
    targetPort: 4445,
    selector: { app: "hydra" },
  },
  {
    name: "kratos-public",
    port: 4434,
    targetPort: 4434,
    selector: { app: "kratos" },
  },
  {
    name: "kratos-admin",
    port: 4433,
    targetPort: "http-admin",
    selector: { app: "kratos" },
  },
  {
    name: "keto-read",
    port: 4466,
    targetPort: 4466,
    selector: { app: "keto" },
  },
  {
    name: "keto-write",
    port: 4467,
    targetPort: 4467,
    selector: { app: "keto" },
  },
];
const PORT_ENDPOINTS: Record<number, EndpointName> = {
  4444: "hydraPublic",
  4445: "hydraAdmin",
  4434: "kratosPublic",
  4433: "kratosAdmin",
  4466: "ketoRead",
  4467: "ketoWrite",
};

function pods(ketoReady = true): PodSpec[] {
  return [
    // Listed first and not ready, so the forwarder must skip it.
    { name: "hydra-old", labels: { app: "hydra" }, ready: false },
    {
      name: "hydra-1",
      labels: { app: "hydra" },
      ready: true,
      ports: [
        { name: "http-public", containerPort: 4444 },
        { name: "http-admin", containerPort: 4445 },
      ],
    },
    {
      name: "kratos-1",
      labels: { app: "kratos" },
      ready: true,
      ports: [
        { name: "http-admin", containerPort: 4433 },
        { name: "http-public", containerPort: 4434 },
      ],
    },
    { name: "keto-1", labels: { app: "keto" }, ready: ketoReady },
  ];
}

let repoRoot: string;
let folder: string;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  repoRoot = await makeRepository();
  folder = await mkdtemp(path.join(os.tmpdir(), "smoke-kube-"));
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function startCluster(
  options: { ketoReady?: boolean; services?: ServiceSpec[] } = {},
): Promise<{ ory: OryStandIns; kube: PortForwardStandIn; kubeconfig: string }> {
  const ory = await startOryStandIns();
  closers.push(() => ory.close());
  const kube = await startPortForwardStandIn({
    namespace: "ory",
    services: options.services ?? SERVICES,
    pods: pods(options.ketoReady ?? true),
    route: (_pod, port) => {
      const endpoint = PORT_ENDPOINTS[port];
      return endpoint ? Number(new URL(ory.urls[endpoint]).port) : undefined;
    },
  });
  closers.push(() => kube.close());
  const kubeconfig = path.join(folder, `kubeconfig-${closers.length}`);
  await kube.writeKubeconfig(kubeconfig, "smoketest-ory");
  return { ory, kube, kubeconfig };
}

describe("smoke endpoints through port-forwards", () => {
  it("reaches every API through port-forwards", async () => {
    const { ory, kube, kubeconfig } = await startCluster();
    const { exitCode, output } = await runSmoke(
      [
        "smoketest",
        "--kubeconfig",
        kubeconfig,
        "--format",
        "json",
        "--deadline",
        "2",
      ],
      { repoRoot },
    );

    expect(exitCode).toBe(0);
    const result = parseResult(output);
    expect(result.summary.failed).toBe(0);
    expect(result.endpoints.map((endpoint) => endpoint.source)).toEqual([
      "port-forward to Service ory/hydra-public:4444",
      "port-forward to Service ory/hydra-admin:4445",
      "port-forward to Service ory/kratos-public:4434",
      "port-forward to Service ory/kratos-admin:4433",
      "port-forward to Service ory/keto-read:4466",
      "port-forward to Service ory/keto-write:4467",
    ]);
    const upgrades = kube.requests.filter((request) =>
      request.startsWith("UPGRADE"),
    );
    expect(upgrades).toContain(
      "UPGRADE /api/v1/namespaces/ory/pods/hydra-1/portforward?ports=4444",
    );
    expect(upgrades).toContain(
      "UPGRADE /api/v1/namespaces/ory/pods/kratos-1/portforward?ports=4433",
    );
    expect(upgrades.some((request) => request.includes("hydra-old"))).toBe(
      false,
    );
    expect(
      ory.requests.some((request) => request.path === "/admin/relation-tuples"),
    ).toBe(true);
  });

  it("fails health without a ready pod", async () => {
    const { kubeconfig } = await startCluster({ ketoReady: false });
    const { exitCode, output } = await runSmoke(
      [
        "smoketest",
        "--only",
        "keto",
        "--kubeconfig",
        kubeconfig,
        "--format",
        "json",
        "--deadline",
        "0.5",
      ],
      { repoRoot },
    );

    expect(exitCode).toBe(1);
    const health = parseResult(output).steps.find(
      (step) => step.name === "health: read API",
    );
    expect(health?.status).toBe("failed");
    expect(health?.error).toContain(
      "no ready pod behind Service ory/keto-read (selector app=keto; pods: keto-1 Running)",
    );
  });

  it("exits 2 for a missing Service", async () => {
    const { kubeconfig } = await startCluster({
      services: SERVICES.filter((service) => service.name !== "keto-write"),
    });
    const { exitCode, logs } = await runSmoke(
      ["smoketest", "--only", "keto", "--kubeconfig", kubeconfig],
      {
        repoRoot,
      },
    );

    expect(exitCode).toBe(2);
    expect(logs.join("\n")).toContain(
      "Service ory/keto-write not found through the Kubernetes API of context smoketest-ory",
    );
  });
});
