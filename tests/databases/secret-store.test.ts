import {
  chmod,
  lstat,
  mkdir,
  readFile,
  readdir,
  readlink,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  fileSecretStore,
  kubernetesSecretStore,
} from "../../bootstrap/databases/secret-store.js";
import { ToolError } from "../../tools/lib/errors.js";
import { createKubernetesClient } from "../../tools/lib/kubernetes.js";
import { createLogger } from "../../tools/lib/log.js";
import {
  startKubernetesApiStandIn,
  type KubernetesApiStandIn,
} from "../stand-ins/kubernetes-api.js";
import { freePort, makeRepo } from "./helpers.js";

let api: KubernetesApiStandIn;
let folder: string;
let kubeconfig: string;
const logs: string[] = [];
const logger = createLogger("debug", (line) => logs.push(line));

beforeAll(async () => {
  api = await startKubernetesApiStandIn({ namespaces: ["ory"] });
  folder = await makeRepo();
  kubeconfig = path.join(folder, "kubeconfig");
  await api.writeKubeconfig(kubeconfig, "test-ory");
});

afterAll(async () => {
  await api?.close();
});

function store() {
  return kubernetesSecretStore(
    createKubernetesClient({ context: "test-ory", kubeconfigPath: kubeconfig }),
  );
}

async function failure(promise: Promise<unknown>): Promise<ToolError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ToolError) return error;
    throw error;
  }
  throw new Error("expected a ToolError");
}

describe("Kubernetes Secret store", () => {
  test("missing Secret reads as null", async () => {
    expect(await store().read("ory", "absent")).toBeNull();
  });

  test("write is a server-side apply", async () => {
    await store().write({
      name: "written",
      namespace: "ory",
      data: { dsn: "cockroach://u:p@h:1/d" },
      annotations: { note: "x" },
    });
    const patch = api.requests.find(
      (request) =>
        request.method === "PATCH" && request.path.endsWith("/written"),
    );
    expect(patch?.contentType).toBe("application/apply-patch+yaml");
    expect(patch?.query).toEqual({
      fieldManager: "bootstrap-databases",
      force: "true",
    });
    expect(api.decoded("ory", "written")).toEqual({
      dsn: "cockroach://u:p@h:1/d",
    });
  });

  test("read decodes data and keeps annotations", async () => {
    await store().write({
      name: "roundtrip",
      namespace: "ory",
      data: { a: "ä 1" },
      annotations: { k: "v" },
    });
    const secret = await store().read("ory", "roundtrip");
    expect(secret?.data).toEqual({ a: "ä 1" });
    expect(secret?.annotations).toEqual({ k: "v" });
  });

  test("write keeps keys it does not name", async () => {
    await store().write({
      name: "merge",
      namespace: "ory",
      data: { a: "1", b: "2" },
      annotations: {},
    });
    await store().write({
      name: "merge",
      namespace: "ory",
      data: { b: "3" },
      annotations: {},
    });
    expect(api.decoded("ory", "merge")).toEqual({ a: "1", b: "3" });
  });

  test("missing namespace is exit 2 with the fix", async () => {
    const error = await failure(
      store().write({
        name: "x",
        namespace: "absent",
        data: {},
        annotations: {},
      }),
    );
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('namespaces "absent" not found');
    expect(error.message).toContain("create the namespace first");
  });

  test("rejected token is exit 2", async () => {
    const other = await startKubernetesApiStandIn({ token: "another-token" });
    try {
      const file = path.join(folder, "kubeconfig-other");
      await other.writeKubeconfig(file, "other-ory");
      const config = (await readFile(file, "utf8")).replace(
        "another-token",
        "stale-token",
      );
      await writeFile(file, config);
      const client = createKubernetesClient({
        context: "other-ory",
        kubeconfigPath: file,
      });
      const error = await failure(
        kubernetesSecretStore(client).read("ory", "x"),
      );
      expect(error.exitCode).toBe(2);
      expect(error.message).toContain("credentials were rejected");
    } finally {
      await other.close();
    }
  });

  test("unreachable API server is exit 2", async () => {
    const file = path.join(folder, "kubeconfig-closed");
    const port = await freePort();
    await writeFile(
      file,
      `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: closed-ory, context: { cluster: c, user: u } }]
`,
    );
    const client = createKubernetesClient({
      context: "closed-ory",
      kubeconfigPath: file,
    });
    const error = await failure(kubernetesSecretStore(client).read("ory", "x"));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain("cannot be reached (ECONNREFUSED)");
  });

  test("missing context names the ones present", () => {
    expect(() =>
      createKubernetesClient({
        context: "prod-ory",
        kubeconfigPath: kubeconfig,
      }),
    ).toThrow(/context "prod-ory" not found .* \(it has: test-ory\)/);
  });
});

describe("file Secret store", () => {
  test("missing file reads as empty", async () => {
    const secrets = await fileSecretStore(
      path.join(folder, "none.yaml"),
      logger,
    );
    expect(await secrets.read("ory", "hydra-db")).toBeNull();
  });

  test("write creates a 0600 file of Secret manifests", async () => {
    const file = path.join(folder, "secrets.yaml");
    const secrets = await fileSecretStore(file, logger);
    await secrets.write({
      name: "one",
      namespace: "ory",
      data: { dsn: "d1" },
      annotations: {},
    });
    await secrets.write({
      name: "two",
      namespace: "ory",
      data: { dsn: "d2" },
      annotations: { k: "v" },
    });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, "utf8");
    expect(text).toContain("kind: Secret");
    expect(text).toContain("stringData:");

    const reread = await fileSecretStore(file, logger);
    expect((await reread.read("ory", "one"))?.data).toEqual({ dsn: "d1" });
    expect((await reread.read("ory", "two"))?.annotations).toEqual({ k: "v" });
  });

  test("other documents and base64 data survive", async () => {
    const file = path.join(folder, "mixed.yaml");
    await writeFile(
      file,
      `apiVersion: v1
kind: ConfigMap
metadata: { name: keep-me, namespace: ory }
data: { a: b }
---
apiVersion: v1
kind: Secret
metadata: { name: old, namespace: ory }
data: { dsn: ${Buffer.from("from-base64").toString("base64")} }
`,
    );
    const secrets = await fileSecretStore(file, logger);
    expect((await secrets.read("ory", "old"))?.data).toEqual({
      dsn: "from-base64",
    });
    await secrets.write({
      name: "old",
      namespace: "ory",
      data: { extra: "x" },
      annotations: {},
    });
    const text = await readFile(file, "utf8");
    expect(text).toContain("name: keep-me");
    const reread = await fileSecretStore(file, logger);
    expect((await reread.read("ory", "old"))?.data).toEqual({
      dsn: "from-base64",
      extra: "x",
    });
  });

  test("invalid YAML is a usage error without its text", async () => {
    const file = path.join(folder, "broken.yaml");
    await writeFile(file, "stringData: { dsn: 'SecretValue\n");
    const error = await failure(fileSecretStore(file, logger));
    expect(error.exitCode).toBe(2);
    expect(error.message).not.toContain("SecretValue");
  });
});

describe("file Secret store safety", () => {
  const secret = {
    name: "hydra-db",
    namespace: "ory",
    data: { dsn: "d1" },
    annotations: {},
  };

  test("symbolic link is kept, its target rewritten", async () => {
    const real = path.join(folder, "real-target");
    await mkdir(real, { recursive: true });
    const target = path.join(real, "secrets.yaml");
    await writeFile(target, "", { mode: 0o600 });
    const link = path.join(folder, "linked.yaml");
    await symlink(target, link);

    await (await fileSecretStore(link, logger)).write(secret);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(target);
    expect(await readFile(target, "utf8")).toContain("name: hydra-db");
    expect((await stat(target)).mode & 0o777).toBe(0o600);
  });

  test("stale temporary files are removed", async () => {
    const sub = path.join(folder, "stale");
    await mkdir(sub, { recursive: true });
    const file = path.join(sub, "S.yaml");
    // No process has this id: Linux caps ids at 2^22.
    const dead = path.join(sub, ".S.yaml.99999999.tmp");
    const own = path.join(sub, `.S.yaml.${process.pid}.tmp`);
    const running = path.join(sub, `.S.yaml.${process.ppid}.tmp`);
    const foreign = path.join(sub, ".other.yaml.99999999.tmp");
    for (const leftover of [dead, own, running, foreign]) {
      await writeFile(leftover, "dsn: secret", { mode: 0o600 });
    }
    logs.length = 0;
    await fileSecretStore(file, logger);
    expect((await readdir(sub)).sort()).toEqual(
      [path.basename(foreign), path.basename(running)].sort(),
    );
    const text = logs.join("\n");
    expect(text).toContain(`removed ${dead}`);
    expect(text).toContain("left by an interrupted run (process 99999999)");
    expect(text).toContain(`kept ${running}`);
  });

  test("readable file is set to 0600 with a warning", async () => {
    const file = path.join(folder, "wide.yaml");
    await writeFile(file, "");
    await chmod(file, 0o644);
    logs.length = 0;
    await fileSecretStore(file, logger);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(logs.join("\n")).toContain(
      `warn: --secrets-file ${file} had mode 0644`,
    );
  });

  test("Secret without namespace is rejected", async () => {
    const file = path.join(folder, "no-namespace.yaml");
    await writeFile(
      file,
      "apiVersion: v1\nkind: Secret\nmetadata: { name: hydra-db }\nstringData: { dsn: kept }\n",
    );
    const store = await fileSecretStore(file, logger);
    const error = await failure(store.read("ory", "hydra-db"));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(
      'document 1 is Secret "hydra-db" with no metadata.namespace',
    );
    expect(error.message).toContain("metadata.namespace: ory");
    await expect(store.write(secret)).rejects.toThrow(/no metadata.namespace/);
    expect(await readFile(file, "utf8")).not.toContain("namespace");
  });

  test("Secret in another namespace is rejected", async () => {
    const file = path.join(folder, "other-namespace.yaml");
    await writeFile(
      file,
      "apiVersion: v1\nkind: Secret\nmetadata: { name: hydra-db, namespace: auth }\nstringData: { dsn: kept }\n",
    );
    const store = await fileSecretStore(file, logger);
    const error = await failure(store.read("ory", "hydra-db"));
    expect(error.message).toContain('with namespace "auth"');
  });

  test("Secret listed twice is rejected", async () => {
    const file = path.join(folder, "twice.yaml");
    const document =
      "apiVersion: v1\nkind: Secret\nmetadata: { name: hydra-db, namespace: ory }\nstringData: { dsn: kept }\n";
    await writeFile(file, `${document}---\n${document}`);
    const store = await fileSecretStore(file, logger);
    const error = await failure(store.read("ory", "hydra-db"));
    expect(error.message).toContain("contains Secret ory/hydra-db 2 times");
  });
});
