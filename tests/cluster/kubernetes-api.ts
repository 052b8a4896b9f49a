import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { readBody, sendJson, sendKubernetesStatus } from "../stand-ins/http.js";

/**
 * An HTTPS server on 127.0.0.1 that serves the part of the Kubernetes API
 * the Flux hand-over uses, after the documented contract: discovery at
 * /api/v1 and /apis/<group>/<version>, GET of one object (404 with a Status
 * when missing), and server-side apply (PATCH with content type
 * application/apply-patch+yaml and a fieldManager). Applying a
 * CustomResourceDefinition serves its kind and marks it Established, as the
 * real API server does. Every request is recorded.
 *
 * Its apply replaces the fields it is sent and keeps `status`. Real
 * server-side apply also tracks field ownership and removes fields a
 * manager stopped sending; the command under test always sends whole
 * objects with force, so the stand-in leaves that out.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  authorization: string | undefined;
  body: unknown;
}

export interface StoredObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  status?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface ClusterApiStandIn {
  /** https://127.0.0.1:PORT */
  url: string;
  /** Base64 of the server's self-signed PEM certificate, as EKS reports a CA. */
  caData: string;
  requests: RecordedRequest[];
  /** Server-side apply requests only, in order. */
  applies(): RecordedRequest[];
  /** Stored objects keyed by "kind/namespace/name" ("kind//name" when cluster-scoped). */
  objects: Map<string, StoredObject>;
  close(): Promise<void>;
}

export interface StandInOptions {
  /** Objects that exist before the test starts. */
  preload?: StoredObject[];
  /**
   * Status that kustomize-controller would report for a Kustomization on
   * its nth read since it was applied; undefined leaves status alone.
   */
  kustomizationStatus?: (reads: number) => Record<string, unknown> | undefined;
  /** Status of every GitRepository, as source-controller would report it. */
  gitRepositoryStatus?: Record<string, unknown>;
  /** Return 403 to every request, as RBAC does for an identity without access. */
  forbidden?: boolean;
}

interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

/** Built-in kinds of a fresh cluster that Flux's components use. */
const BUILT_IN: ResourceType[] = [
  {
    group: "",
    version: "v1",
    kind: "Namespace",
    plural: "namespaces",
    namespaced: false,
  },
  {
    group: "",
    version: "v1",
    kind: "Secret",
    plural: "secrets",
    namespaced: true,
  },
  {
    group: "",
    version: "v1",
    kind: "ServiceAccount",
    plural: "serviceaccounts",
    namespaced: true,
  },
  {
    group: "",
    version: "v1",
    kind: "Service",
    plural: "services",
    namespaced: true,
  },
  {
    group: "",
    version: "v1",
    kind: "ResourceQuota",
    plural: "resourcequotas",
    namespaced: true,
  },
  {
    group: "apps",
    version: "v1",
    kind: "Deployment",
    plural: "deployments",
    namespaced: true,
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "ClusterRole",
    plural: "clusterroles",
    namespaced: false,
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "ClusterRoleBinding",
    plural: "clusterrolebindings",
    namespaced: false,
  },
  {
    group: "networking.k8s.io",
    version: "v1",
    kind: "NetworkPolicy",
    plural: "networkpolicies",
    namespaced: true,
  },
  {
    group: "apiextensions.k8s.io",
    version: "v1",
    kind: "CustomResourceDefinition",
    plural: "customresourcedefinitions",
    namespaced: false,
  },
];

/** Starts the stand-in with a fresh self-signed certificate for 127.0.0.1. */
export async function startClusterApiStandIn(
  options: StandInOptions = {},
): Promise<ClusterApiStandIn> {
  const { key, cert } = selfSignedCertificate();
  const types = [...BUILT_IN];
  const objects = new Map<string, StoredObject>();
  const requests: RecordedRequest[] = [];
  const kustomizationReads = new Map<string, number>();
  for (const object of options.preload ?? []) store(object);

  function store(object: StoredObject): void {
    objects.set(
      keyOf(object.kind, object.metadata.namespace, object.metadata.name),
      object,
    );
    if (object.kind === "CustomResourceDefinition") serveCrd(object);
  }

  function serveCrd(crd: StoredObject): void {
    const spec = crd.spec as {
      group: string;
      names: { kind: string; plural: string };
      scope: string;
      versions: { name: string }[];
    };
    for (const version of spec.versions) {
      if (
        !types.some(
          (type) =>
            type.group === spec.group &&
            type.version === version.name &&
            type.kind === spec.names.kind,
        )
      ) {
        types.push({
          group: spec.group,
          version: version.name,
          kind: spec.names.kind,
          plural: spec.names.plural,
          namespaced: spec.scope === "Namespaced",
        });
      }
    }
    crd.status = {
      conditions: [
        { type: "Established", status: "True", reason: "InitialNamesAccepted" },
      ],
    };
  }

  const server = createServer({ key, cert }, async (request, response) => {
    const url = new URL(request.url ?? "/", "https://stand-in");
    const text = await readBody(request);
    const contentType = request.headers["content-type"];
    const recorded: RecordedRequest = {
      method: request.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType,
      authorization: request.headers.authorization,
      body: text ? parse(text) : undefined,
    };
    requests.push(recorded);

    if (!recorded.authorization?.startsWith("Bearer k8s-aws-v1.")) {
      return sendKubernetesStatus(
        response,
        401,
        "Unauthorized",
        "Unauthorized",
      );
    }
    if (options.forbidden) {
      return sendKubernetesStatus(
        response,
        403,
        "Forbidden",
        "forbidden: User cannot get resource",
      );
    }
    const discovery = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(
      url.pathname,
    );
    if (request.method === "GET" && discovery) {
      const group = discovery[2] ?? "";
      const version = discovery[1] ?? discovery[3] ?? "";
      const served = types.filter(
        (type) => type.group === group && type.version === version,
      );
      if (served.length === 0) {
        return sendKubernetesStatus(
          response,
          404,
          "NotFound",
          "the server could not find the requested resource",
        );
      }
      return sendJson(response, 200, {
        kind: "APIResourceList",
        apiVersion: "v1",
        groupVersion: group ? `${group}/${version}` : version,
        resources: served.map((type) => ({
          name: type.plural,
          singularName: type.kind.toLowerCase(),
          namespaced: type.namespaced,
          kind: type.kind,
          verbs: [
            "create",
            "delete",
            "get",
            "list",
            "patch",
            "update",
            "watch",
          ],
        })),
      });
    }

    const target = resolve(url.pathname);
    if (!target) {
      return sendKubernetesStatus(
        response,
        404,
        "NotFound",
        "the server could not find the requested resource",
      );
    }
    const key = keyOf(target.type.kind, target.namespace, target.name);

    if (request.method === "GET") {
      const object = objects.get(key);
      if (!object) {
        return sendKubernetesStatus(
          response,
          404,
          "NotFound",
          `${target.type.plural} "${target.name}" not found`,
        );
      }
      simulateControllers(object, key);
      return sendJson(response, 200, object);
    }
    if (request.method !== "PATCH") {
      return sendKubernetesStatus(
        response,
        405,
        "MethodNotAllowed",
        `${request.method} is not supported by the stand-in`,
      );
    }
    if (contentType !== "application/apply-patch+yaml") {
      return sendKubernetesStatus(
        response,
        415,
        "UnsupportedMediaType",
        "accepted media types include: application/apply-patch+yaml",
      );
    }
    if (!recorded.query.fieldManager) {
      return sendKubernetesStatus(
        response,
        400,
        "BadRequest",
        "PATCH, with content type application/apply-patch+yaml, requires a fieldManager",
      );
    }
    if (
      target.namespace &&
      !objects.has(keyOf("Namespace", undefined, target.namespace))
    ) {
      return sendKubernetesStatus(
        response,
        404,
        "NotFound",
        `namespaces "${target.namespace}" not found`,
      );
    }
    const patch = recorded.body as StoredObject | undefined;
    if (
      patch?.kind !== target.type.kind ||
      patch.metadata?.name !== target.name
    ) {
      return sendKubernetesStatus(
        response,
        400,
        "BadRequest",
        "the body must be the object named in the path",
      );
    }
    const previous = objects.get(key);
    const stored: StoredObject = {
      ...patch,
      metadata: { ...patch.metadata, namespace: target.namespace },
      ...(previous?.status ? { status: previous.status } : {}),
    };
    if (!target.namespace) delete stored.metadata.namespace;
    store(stored);
    kustomizationReads.delete(key);
    return sendJson(response, previous ? 200 : 201, stored);
  });

  /** Plays the part of Flux's controllers on the objects the test watches. */
  function simulateControllers(object: StoredObject, key: string): void {
    if (object.kind === "Kustomization" && options.kustomizationStatus) {
      const reads = (kustomizationReads.get(key) ?? 0) + 1;
      kustomizationReads.set(key, reads);
      const status = options.kustomizationStatus(reads);
      if (status) object.status = status;
    }
    if (object.kind === "GitRepository" && options.gitRepositoryStatus) {
      object.status = options.gitRepositoryStatus;
    }
  }

  function resolve(
    pathname: string,
  ): { type: ResourceType; namespace?: string; name: string } | undefined {
    const match = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.+)$/.exec(
      pathname,
    );
    if (!match) return undefined;
    const group = match[2] ?? "";
    const version = match[1] ?? match[3] ?? "";
    const parts = match[4]!.split("/").map(decodeURIComponent);
    let namespace: string | undefined;
    let plural: string;
    let name: string;
    if (parts.length === 4 && parts[0] === "namespaces") {
      [, namespace, plural, name] = parts as [string, string, string, string];
    } else if (parts.length === 2) {
      [plural, name] = parts as [string, string];
    } else {
      return undefined;
    }
    const type = types.find(
      (candidate) =>
        candidate.group === group &&
        candidate.version === version &&
        candidate.plural === plural,
    );
    if (!type || type.namespaced !== (namespace !== undefined))
      return undefined;
    return { type, ...(namespace ? { namespace } : {}), name };
  }

  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;

  return {
    url: `https://127.0.0.1:${port}`,
    caData: Buffer.from(cert).toString("base64"),
    requests,
    applies: () => requests.filter((request) => request.method === "PATCH"),
    objects,
    close: () =>
      new Promise<void>((done, fail) => {
        server.closeAllConnections();
        server.close((error) => (error ? fail(error) : done()));
      }),
  };
}

function keyOf(
  kind: string,
  namespace: string | undefined,
  name: string,
): string {
  return `${kind}/${namespace ?? ""}/${name}`;
}

/**
 * Makes a throwaway key and certificate for 127.0.0.1 with the openssl
 * CLI, because Node.js cannot issue X.509 certificates by itself.
 */
function selfSignedCertificate(): { key: string; cert: string } {
  const folder = mkdtempSync(path.join(os.tmpdir(), "cluster-api-tls-"));
  try {
    const keyFile = path.join(folder, "key.pem");
    const certFile = path.join(folder, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        keyFile,
        "-out",
        certFile,
      ],
      { stdio: "ignore" },
    );
    return {
      key: readFileSync(keyFile, "utf8"),
      cert: readFileSync(certFile, "utf8"),
    };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
