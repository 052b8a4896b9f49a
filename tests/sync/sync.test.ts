import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { main } from "../../tools/sync/command.js";
import { runInProcess } from "../promote/helpers.js";
import { createGitFixture } from "../promote/fixture.js";
import type { RecordedRequest } from "../stand-ins/kubernetes-api.js";
import {
  crdbObjects,
  helmRelease,
  isList,
  kustomization,
  NEW_SHA,
  OLD_SHA,
  oryObjects,
  ready,
  startClusters,
  type Clusters,
} from "./helpers.js";

const root = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../..",
);

let folder: string;
let clusters: Clusters | undefined;

beforeEach(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), "sync-"));
});

afterEach(async () => {
  await clusters?.close();
  clusters = undefined;
  await rm(folder, { recursive: true, force: true });
});

async function start(
  ory: ReturnType<typeof oryObjects>,
  crdb = crdbObjects(NEW_SHA),
  onOryRequest?: (request: RecordedRequest) => void,
) {
  clusters = await startClusters(
    "dev",
    path.join(folder, "kubeconfig"),
    { ory, crdb },
    onOryRequest ? { ory: onOryRequest } : undefined,
  );
  return clusters;
}

function sync(...args: string[]) {
  return runInProcess((writeOutput, logger) =>
    main(
      [
        "dev",
        "--kubeconfig",
        path.join(folder, "kubeconfig"),
        "--repo",
        root,
        "--interval",
        "50ms",
        ...args,
      ],
      { writeOutput, logger, environmentVariables: {} },
    ),
  );
}

/** Replaces the object with `name` in a list of fixtures. */
function replace<T extends { metadata: { name: string } }>(
  objects: T[],
  name: string,
  object: T,
): T[] {
  return objects.map((candidate) =>
    candidate.metadata.name === name ? object : candidate,
  );
}

/**
 * Starts a TCP listener on 127.0.0.1 that forwards to `target` until
 * `silence()` is called; from then on it accepts bytes and never responds.
 */
async function startSilencingProxy(target: string | null) {
  const sockets = new Set<net.Socket>();
  let silent = target === null;
  let openClients = 0;
  const server = net.createServer((client) => {
    sockets.add(client);
    openClients++;
    client.on("close", () => openClients--);
    client.on("error", () => undefined);
    if (target === null) {
      // Read and drop the request, so the client closing is noticed.
      client.resume();
      return;
    }
    const { port } = new URL(target);
    const upstream = net.connect(Number(port), "127.0.0.1");
    sockets.add(upstream);
    upstream.on("error", () => undefined);
    client.on("data", (chunk) => {
      if (!silent) upstream.write(chunk);
    });
    upstream.on("data", (chunk) => client.write(chunk));
  });
  await new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve()),
  );
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    silence: () => (silent = true),
    /** Connections that the client has not closed yet. */
    openClients: () => openClients,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Points the Ory context of the kubeconfig at `url`. */
async function redirectOry(cluster: Clusters, url: string): Promise<void> {
  const file = path.join(folder, "kubeconfig");
  const text = await readFile(file, "utf8");
  await writeFile(file, text.replace(cluster.ory.url, url));
}

describe("sync", () => {
  test("synced cluster pair is exit 0", async () => {
    await start(oryObjects(NEW_SHA));

    const outcome = await sync("--revision", NEW_SHA);

    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toBe(
      "dev at 2222222: synced after 0s, 10 Flux objects Ready\n",
    );
  });

  test("Flux revision form is accepted", async () => {
    await start(oryObjects(NEW_SHA));

    const outcome = await sync("--revision", `main@sha1:${NEW_SHA}`);

    expect(outcome.code).toBe(0);
  });

  test("still reconciling then synced", async () => {
    const reconciling = kustomization("ory", NEW_SHA, {
      conditions: [
        ready("Unknown", "Progressing", "Reconciliation in progress"),
        {
          type: "Reconciling",
          status: "True",
          reason: "Progressing",
          message: "Applying",
        },
      ],
    });
    let lists = 0;
    const cluster = await start(
      replace(oryObjects(NEW_SHA), "ory", reconciling),
      crdbObjects(NEW_SHA),
      (request) => {
        if (!isList(request, "kustomizations")) return;
        lists += 1;
        // The controller finishes between the third and fourth poll.
        if (lists === 4) cluster.ory.putObject(kustomization("ory", NEW_SHA));
      },
    );

    const outcome = await sync("--revision", NEW_SHA, "--timeout", "20s");

    expect(outcome.code).toBe(0);
    expect(lists).toBe(4);
    expect(outcome.stderr).toContain(
      "1 of 10 objects pending: dev-ory Kustomization flux-system/ory (reconciling)",
    );
  });

  test("Ready at older revision does not count", async () => {
    await start(
      replace(oryObjects(NEW_SHA), "ory", kustomization("ory", OLD_SHA)),
    );

    const outcome = await sync("--revision", NEW_SHA, "--timeout", "300ms");

    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toContain("not synced, timed out after");
    expect(outcome.stdout).toContain(
      `dev-ory Kustomization flux-system/ory: pending, last attempted main@sha1:${OLD_SHA}, waiting for 2222222`,
    );
    expect(outcome.stdout).toContain("Ready=True (ReconciliationSucceeded)");
  });

  test("applied but not attempted revision does not count", async () => {
    const stale = kustomization("ory", OLD_SHA, { attempted: NEW_SHA });
    await start(replace(oryObjects(NEW_SHA), "ory", stale));

    const outcome = await sync("--revision", NEW_SHA, "--timeout", "300ms");

    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toContain(`last applied main@sha1:${OLD_SHA}`);
  });

  test("image-only change does not pass on old Ready", async () => {
    // Flux applied a new image tag: generation 3, but helm-controller still
    // reports Ready for generation 2 with the same chart version.
    const release = helmRelease("kratos", "ory", {
      generation: 3,
      observedGeneration: 2,
    });
    await start(replace(oryObjects(NEW_SHA), "kratos", release));

    const outcome = await sync("--revision", NEW_SHA, "--timeout", "300ms");

    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toContain(
      "dev-ory HelmRelease ory/kratos: pending, has not observed generation 3 yet (observed 2)",
    );
  });

  test("old chart version does not count", async () => {
    const release = helmRelease("hydra", "ory", {
      chart: "0.62.2",
      installedChart: "0.62.1",
    });
    await start(replace(oryObjects(NEW_SHA), "hydra", release));

    const outcome = await sync("--revision", NEW_SHA, "--timeout", "300ms");

    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toContain(
      "runs chart 0.62.1, the manifests ask for 0.62.2",
    );
  });

  test("failed HelmRelease fails without waiting", async () => {
    const failed = helmRelease("hydra", "ory", {
      conditions: [
        ready(
          "False",
          "UpgradeFailed",
          "Helm upgrade failed: timed out waiting for the condition",
        ),
        {
          type: "Stalled",
          status: "True",
          reason: "RetriesExceeded",
          message: "Failed to upgrade after 4 attempt(s)",
        },
      ],
    });
    await start(replace(oryObjects(NEW_SHA), "hydra", failed));

    const outcome = await sync("--revision", NEW_SHA, "--timeout", "1m");

    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toContain("not synced, failed after");
    expect(outcome.stdout).toContain(
      "dev-ory HelmRelease ory/hydra: failed, stalled (RetriesExceeded): Failed to upgrade after 4 attempt(s)",
    );
    expect(outcome.stdout).toContain(
      "Ready=False (UpgradeFailed): Helm upgrade failed: timed out waiting for the condition",
    );
  });

  test("failed Kustomization at revision fails", async () => {
    const failed = kustomization("crdb", OLD_SHA, {
      attempted: NEW_SHA,
      conditions: [
        ready(
          "False",
          "BuildFailed",
          "kustomize build failed: accumulating resources",
        ),
      ],
    });
    await start(
      oryObjects(NEW_SHA),
      replace(crdbObjects(NEW_SHA), "crdb", failed),
    );

    const outcome = await sync("--revision", NEW_SHA, "--timeout", "1m");

    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toContain(
      "dev-crdb Kustomization flux-system/crdb: failed, applying 2222222 failed",
    );
    expect(outcome.stdout).toContain("Ready=False (BuildFailed)");
  });

  test("timeout lists each pending object", async () => {
    await start(oryObjects(OLD_SHA), crdbObjects(OLD_SHA));

    const outcome = await sync(
      "--revision",
      NEW_SHA,
      "--timeout",
      "200ms",
      "--format",
      "json",
    );

    expect(outcome.code).toBe(1);
    const result = JSON.parse(outcome.stdout);
    expect(result.outcome).toBe("timed-out");
    const pending = result.objects.filter(
      (o: { phase: string }) => o.phase === "pending",
    );
    expect(
      pending.map(
        (o: { cluster: string; kind: string; name: string }) =>
          `${o.cluster} ${o.kind} ${o.name}`,
      ),
    ).toEqual([
      "dev-ory GitRepository flux-system",
      "dev-ory Kustomization flux-system",
      "dev-ory Kustomization ory",
      "dev-crdb GitRepository flux-system",
      "dev-crdb Kustomization flux-system",
      "dev-crdb Kustomization crdb",
    ]);
    expect(outcome.stderr).toMatch(/elapsed, 6 of 10 objects pending/);
  });

  test("default revision is the remote head", async () => {
    const fixture = await createGitFixture();
    try {
      const head = await fixture.change(
        "environments/dev/ory/versions.yaml",
        [["tag: v26.2.0", "tag: v26.2.1"]],
        "Bump Hydra image in dev",
      );
      await start(oryObjects(head), crdbObjects(head));

      const outcome = await runInProcess((writeOutput, logger) =>
        main(
          [
            "dev",
            "--kubeconfig",
            path.join(folder, "kubeconfig"),
            "--repo",
            fixture.work,
            "--interval",
            "50ms",
          ],
          { writeOutput, logger, environmentVariables: {} },
        ),
      );

      expect(outcome.code).toBe(0);
      expect(outcome.stderr).toContain(`origin/main is at ${head}`);
    } finally {
      await fixture.cleanup();
    }
  });

  test("unreachable cluster is exit 2", async () => {
    const cluster = await start(oryObjects(NEW_SHA));
    await cluster.crdb.close();

    const outcome = await sync("--revision", NEW_SHA);

    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain("dev-crdb");
    expect(outcome.stderr).toContain("cannot be reached");
  });

  test("silent API server is exit 2 at timeout", async () => {
    const cluster = await start(oryObjects(NEW_SHA));
    const silent = await startSilencingProxy(null);
    try {
      await redirectOry(cluster, silent.url);
      const started = Date.now();

      const outcome = await sync("--revision", NEW_SHA, "--timeout", "1s");

      expect(outcome.code).toBe(2);
      expect(outcome.stderr).toContain("dev-ory did not respond within");
      expect(Date.now() - started).toBeLessThan(5_000);
      // The timed-out requests were aborted, not left open until exit.
      await vi.waitFor(() => expect(silent.openClients()).toBe(0), {
        timeout: 2_000,
      });
    } finally {
      await silent.close();
    }
  });

  test("API server going silent is exit 1 at timeout", async () => {
    let proxy: Awaited<ReturnType<typeof startSilencingProxy>> | undefined;
    let silenceScheduled = false;
    const cluster = await start(
      replace(
        oryObjects(NEW_SHA),
        "flux-system",
        kustomization("flux-system", OLD_SHA),
      ),
      crdbObjects(NEW_SHA),
      () => {
        // Let a few polls through, then stop responding.
        if (silenceScheduled) return;
        silenceScheduled = true;
        setTimeout(() => proxy?.silence(), 300);
      },
    );
    proxy = await startSilencingProxy(cluster.ory.url);
    try {
      await redirectOry(cluster, proxy.url);
      const started = Date.now();

      const outcome = await sync("--revision", NEW_SHA, "--timeout", "2s");

      expect(outcome.code).toBe(1);
      expect(outcome.stderr).toContain("dev-ory did not respond within");
      expect(outcome.stdout).toContain("flux-system");
      expect(Date.now() - started).toBeLessThan(6_000);
    } finally {
      await proxy.close();
    }
  });

  test("missing context is exit 2", async () => {
    await start(oryObjects(NEW_SHA));

    const outcome = await runInProcess((writeOutput, logger) =>
      main(
        [
          "staging",
          "--kubeconfig",
          path.join(folder, "kubeconfig"),
          "--repo",
          root,
          "--revision",
          NEW_SHA,
        ],
        {
          writeOutput,
          logger,
          environmentVariables: {},
        },
      ),
    );

    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain(
      'kubeconfig context "staging-ory" not found',
    );
  });

  test("short revision is exit 2", async () => {
    const outcome = await sync("--revision", "2222222");

    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain("is not a full commit SHA");
  });
});
