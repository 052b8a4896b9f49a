import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { writeFile } from "node:fs/promises";
import { parse, stringify } from "yaml";
import { readBody, sendJson, sendKubernetesStatus } from "./http.js";

/**
 * A loopback HTTP server that serves the part of the Kubernetes API that
 * Secret reads and server-side apply use, following the documented
 * contract: discovery at GET /api/v1, GET of one Secret (200 with the
 * object, 404 with a Status), and PATCH with content type
 * application/apply-patch+yaml and a fieldManager query parameter. It keeps
 * Secrets in memory and records every request for assertions.
 *
 * It also serves Flux's custom resources read-only (GitRepository,
 * Kustomization, HelmRelease): discovery of their API groups, lists in one
 * namespace or across all, and GET of one object. Tests put objects in
 * `objects` and may change them between requests with `onRequest`.
 *
 * Its apply merges labels, annotations and data keys into the stored
 * object. Real server-side apply also removes fields that the same manager
 * stopped sending, and reports conflicts between managers. The stand-in
 * leaves both out, because this command always sends the full set of its
 * fields with force.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  body: unknown;
}

export interface SecretObject {
  apiVersion: "v1";
  kind: "Secret";
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
  };
  type?: string;
  data?: Record<string, string>;
}

/** A custom resource the stand-in serves, with whatever spec and status. */
export interface StoredObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    generation?: number;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface KubernetesApiStandIn {
  url: string;
  requests: RecordedRequest[];
  /** Custom resources keyed by objectKey(); tests may change them any time. */
  objects: Map<string, StoredObject>;
  /** Stores or replaces one custom resource. */
  putObject(object: StoredObject): void;
  /** Stored Secrets keyed by "namespace/name". */
  secrets: Map<string, SecretObject>;
  /** Returns a Secret's data decoded from base64, or undefined. */
  decoded(namespace: string, name: string): Record<string, string> | undefined;
  /** Writes a kubeconfig whose context `context` points at this server. */
  writeKubeconfig(file: string, context: string): Promise<void>;
  close(): Promise<void>;
}

export interface StandInOptions {
  /** Namespaces that exist; a PATCH into another one gets 404. */
  namespaces?: string[];
  /** Bearer token that requests must carry. */
  token?: string;
  /** Custom resources that exist before the test starts. */
  objects?: StoredObject[];
  /**
   * Runs after a request is recorded and before it is answered, so a test
   * can change the objects as a controller would between two polls.
   */
  onRequest?: (request: RecordedRequest) => void;
}

interface CustomResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
}

/** The Flux kinds served, at the API versions Flux 2.x stores. */
const CUSTOM_RESOURCES: CustomResourceType[] = [
  {
    group: "source.toolkit.fluxcd.io",
    version: "v1",
    kind: "GitRepository",
    plural: "gitrepositories",
  },
  {
    group: "kustomize.toolkit.fluxcd.io",
    version: "v1",
    kind: "Kustomization",
    plural: "kustomizations",
  },
  {
    group: "helm.toolkit.fluxcd.io",
    version: "v2",
    kind: "HelmRelease",
    plural: "helmreleases",
  },
];

/** Key of a custom resource in `objects`. */
export function objectKey(object: {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}): string {
  return `${object.apiVersion}/${object.kind}/${object.metadata.namespace ?? ""}/${object.metadata.name}`;
}

const GROUP_PATH = /^\/apis\/([^/]+)\/([^/]+)(?:\/(.*))?$/;

const SECRET_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/;

/** Starts the stand-in on 127.0.0.1 and a free port. */
export async function startKubernetesApiStandIn(
  options: StandInOptions = {},
): Promise<KubernetesApiStandIn> {
  const token = options.token ?? "stand-in-token";
  const namespaces = new Set(options.namespaces ?? ["ory"]);
  const requests: RecordedRequest[] = [];
  const secrets = new Map<string, SecretObject>();
  const objects = new Map<string, StoredObject>();
  for (const object of options.objects ?? []) {
    objects.set(objectKey(object), structuredClone(object));
  }
  let version = 1;

  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://stand-in");
    const text = await readBody(request);
    const contentType = request.headers["content-type"];
    const recorded: RecordedRequest = {
      method: request.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType,
      body: text ? parse(text) : undefined,
    };
    requests.push(recorded);
    options.onRequest?.(recorded);

    if (request.headers.authorization !== `Bearer ${token}`) {
      return sendKubernetesStatus(
        response,
        401,
        "Unauthorized",
        "Unauthorized",
      );
    }
    if (request.method === "GET" && url.pathname === "/api/v1") {
      return sendJson(response, 200, {
        kind: "APIResourceList",
        apiVersion: "v1",
        groupVersion: "v1",
        resources: [
          {
            name: "secrets",
            singularName: "secret",
            namespaced: true,
            kind: "Secret",
            verbs: [
              "create",
              "delete",
              "get",
              "list",
              "patch",
              "update",
              "watch",
            ],
          },
        ],
      });
    }
    const group = GROUP_PATH.exec(url.pathname);
    if (group) {
      return serveCustomResources(
        response,
        request.method ?? "",
        group as unknown as [string, string, string, string | undefined],
        objects,
      );
    }
    const match = SECRET_PATH.exec(url.pathname);
    if (!match) {
      return sendKubernetesStatus(
        response,
        404,
        "NotFound",
        `the server could not find the requested resource`,
      );
    }
    const [, namespace, name] = match as unknown as [string, string, string];
    const key = `${namespace}/${name}`;

    if (request.method === "GET") {
      const secret = secrets.get(key);
      if (!secret)
        return sendKubernetesStatus(
          response,
          404,
          "NotFound",
          `secrets "${name}" not found`,
        );
      return sendJson(response, 200, secret);
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
        `the body of the request was in an unknown format - accepted media types include: application/apply-patch+yaml`,
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
    if (!namespaces.has(namespace)) {
      return sendKubernetesStatus(
        response,
        404,
        "NotFound",
        `namespaces "${namespace}" not found`,
      );
    }
    const patch = recorded.body as SecretObject | undefined;
    if (patch?.kind !== "Secret" || patch.metadata?.name !== name) {
      return sendKubernetesStatus(
        response,
        400,
        "BadRequest",
        "the body must be the Secret named in the path",
      );
    }
    const previous = secrets.get(key);
    const merged: SecretObject = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name,
        namespace,
        labels: { ...previous?.metadata.labels, ...patch.metadata.labels },
        annotations: {
          ...previous?.metadata.annotations,
          ...patch.metadata.annotations,
        },
        resourceVersion: String(++version),
      },
      type: patch.type ?? previous?.type ?? "Opaque",
      data: { ...previous?.data, ...patch.data },
    };
    secrets.set(key, merged);
    return sendJson(response, previous ? 200 : 201, merged);
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    requests,
    objects,
    putObject(object) {
      objects.set(objectKey(object), structuredClone(object));
    },
    secrets,
    decoded(namespace, name) {
      const data = secrets.get(`${namespace}/${name}`)?.data;
      if (!data) return undefined;
      return Object.fromEntries(
        Object.entries(data).map(([k, v]) => [
          k,
          Buffer.from(v, "base64").toString("utf8"),
        ]),
      );
    },
    async writeKubeconfig(file, context) {
      const config = {
        apiVersion: "v1",
        kind: "Config",
        // client-node refuses plain HTTP unless TLS checks are off.
        clusters: [
          {
            name: context,
            cluster: { server: url, "insecure-skip-tls-verify": true },
          },
        ],
        users: [{ name: "stand-in", user: { token } }],
        contexts: [
          { name: context, context: { cluster: context, user: "stand-in" } },
        ],
        "current-context": context,
      };
      await writeFile(file, stringify(config));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/**
 * Answers discovery, list and GET for the custom resources, as the API
 * server does: 404 for an unknown group, version or object, 405 for writes.
 */
function serveCustomResources(
  response: ServerResponse,
  method: string,
  [, group, version, rest]: [string, string, string, string | undefined],
  objects: Map<string, StoredObject>,
): void {
  const types = CUSTOM_RESOURCES.filter(
    (type) => type.group === group && type.version === version,
  );
  const apiVersion = `${group}/${version}`;
  if (types.length === 0) {
    return sendKubernetesStatus(
      response,
      404,
      "NotFound",
      "the server could not find the requested resource",
    );
  }
  if (method !== "GET") {
    return sendKubernetesStatus(
      response,
      405,
      "MethodNotAllowed",
      `${method} of custom resources is not supported by the stand-in`,
    );
  }
  if (!rest) {
    return sendJson(response, 200, {
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion: apiVersion,
      resources: types.map((type) => ({
        name: type.plural,
        singularName: type.kind.toLowerCase(),
        namespaced: true,
        kind: type.kind,
        verbs: ["get", "list", "watch", "patch"],
      })),
    });
  }
  const parts = rest.split("/");
  let namespace: string | undefined;
  if (parts[0] === "namespaces" && parts.length >= 3) {
    namespace = parts[1];
    parts.splice(0, 2);
  }
  const [plural, name] = parts;
  const type = types.find((candidate) => candidate.plural === plural);
  if (!type || parts.length > 2) {
    return sendKubernetesStatus(
      response,
      404,
      "NotFound",
      "the server could not find the requested resource",
    );
  }
  const matching = [...objects.values()].filter(
    (object) =>
      object.apiVersion === apiVersion &&
      object.kind === type.kind &&
      (namespace === undefined || object.metadata.namespace === namespace),
  );
  if (name === undefined) {
    return sendJson(response, 200, {
      apiVersion,
      kind: `${type.kind}List`,
      metadata: { resourceVersion: "1" },
      items: matching,
    });
  }
  const found = matching.find((object) => object.metadata.name === name);
  if (!found) {
    return sendKubernetesStatus(
      response,
      404,
      "NotFound",
      `${type.plural}.${group} "${name}" not found`,
    );
  }
  return sendJson(response, 200, found);
}
