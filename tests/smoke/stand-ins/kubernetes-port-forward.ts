import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage } from "node:http";
import net, { type AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { stringify } from "yaml";
import { kubernetesStatus } from "../../stand-ins/http.js";

/**
 * A loopback HTTP server serving the part of the Kubernetes API that
 * `kubectl port-forward svc/...` uses, after the documented contract: GET
 * of one Service, a pod list filtered by labelSelector, and the pod
 * `portforward` subresource over WebSocket with the v4.channel.k8s.io
 * protocol. On that protocol each message starts with a channel byte
 * (0 data, 1 error), and the first message of each channel carries the
 * port as two little-endian bytes. The stand-in connects the data channel
 * to a TCP address on 127.0.0.1 that the test chooses per pod port.
 */
export interface ServiceSpec {
  name: string;
  port: number;
  /** A number, or the name of a container port. */
  targetPort: number | string;
  selector: Record<string, string>;
}

export interface PodSpec {
  name: string;
  labels: Record<string, string>;
  ready: boolean;
  ports?: { name: string; containerPort: number }[];
}

export interface PortForwardStandInOptions {
  namespace: string;
  services: ServiceSpec[];
  pods: PodSpec[];
  /** Returns the local TCP port that a pod's port forwards to. */
  route(pod: string, port: number): number | undefined;
  token?: string;
}

export interface PortForwardStandIn {
  url: string;
  /** "METHOD path?query" of every request, upgrades included. */
  requests: string[];
  writeKubeconfig(file: string, context: string): Promise<void>;
  close(): Promise<void>;
}

const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const PROTOCOL = "v4.channel.k8s.io";

export async function startPortForwardStandIn(
  options: PortForwardStandInOptions,
): Promise<PortForwardStandIn> {
  const token = options.token ?? "stand-in-token";
  const requests: string[] = [];
  const open = new Set<Duplex>();
  const prefix = `/api/v1/namespaces/${options.namespace}`;

  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    const url = new URL(request.url ?? "/", "http://stand-in");
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (request.headers.authorization !== `Bearer ${token}`) {
      return reply(401, kubernetesStatus(401, "Unauthorized", "Unauthorized"));
    }
    const serviceMatch = new RegExp(`^${prefix}/services/([^/]+)$`).exec(
      url.pathname,
    );
    if (request.method === "GET" && serviceMatch) {
      const service = options.services.find(
        (entry) => entry.name === serviceMatch[1],
      );
      if (!service) {
        return reply(
          404,
          kubernetesStatus(
            404,
            "NotFound",
            `services "${serviceMatch[1]}" not found`,
          ),
        );
      }
      return reply(200, serviceObject(options.namespace, service));
    }
    if (request.method === "GET" && url.pathname === `${prefix}/pods`) {
      const selector = parseSelector(
        url.searchParams.get("labelSelector") ?? "",
      );
      const items = options.pods
        .filter((pod) =>
          Object.entries(selector).every(
            ([key, value]) => pod.labels[key] === value,
          ),
        )
        .map((pod) => podObject(options.namespace, pod));
      return reply(200, {
        kind: "PodList",
        apiVersion: "v1",
        metadata: {},
        items,
      });
    }
    return reply(
      404,
      kubernetesStatus(
        404,
        "NotFound",
        "the server could not find the requested resource",
      ),
    );
  });

  server.on("upgrade", (request: IncomingMessage, socket: Duplex) => {
    requests.push(`UPGRADE ${request.url}`);
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    socket.on("error", () => socket.destroy());
    const url = new URL(request.url ?? "/", "http://stand-in");
    const match = new RegExp(`^${prefix}/pods/([^/]+)/portforward$`).exec(
      url.pathname,
    );
    const port = Number(url.searchParams.get("ports"));
    const offered = String(request.headers["sec-websocket-protocol"] ?? "")
      .split(",")
      .map((entry) => entry.trim());
    const reject = (line: string) => {
      socket.end(`HTTP/1.1 ${line}\r\nContent-Length: 0\r\n\r\n`);
    };
    if (request.headers.authorization !== `Bearer ${token}`)
      return reject("401 Unauthorized");
    if (!match || !port) return reject("404 Not Found");
    if (!offered.includes(PROTOCOL)) return reject("400 Bad Request");
    const pod = options.pods.find((entry) => entry.name === match[1]);
    if (!pod) return reject("404 Not Found");

    const accept = createHash("sha1")
      .update(`${request.headers["sec-websocket-key"]}${WEBSOCKET_GUID}`)
      .digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${PROTOCOL}\r\n\r\n`,
    );
    bridge(socket, port, options.route(pod.name, port));
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    requests,
    async writeKubeconfig(file, context) {
      await writeFile(
        file,
        stringify({
          apiVersion: "v1",
          kind: "Config",
          // client-node rejects plain HTTP unless TLS checks are off.
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
        }),
      );
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Joins the WebSocket's data channel to a TCP connection to `localPort`. */
function bridge(
  socket: Duplex,
  port: number,
  localPort: number | undefined,
): void {
  const portBytes = Buffer.from([port & 0xff, port >> 8]);
  socket.write(frame(Buffer.concat([Buffer.from([0]), portBytes])));
  socket.write(frame(Buffer.concat([Buffer.from([1]), portBytes])));
  if (localPort === undefined) {
    const message = `error forwarding port ${port}: connection refused`;
    socket.write(
      frame(Buffer.concat([Buffer.from([1]), Buffer.from(message)])),
    );
    socket.end(closeFrame());
    return;
  }
  const target = net.connect({ host: "127.0.0.1", port: localPort });
  target.on("data", (chunk: Buffer) => {
    socket.write(frame(Buffer.concat([Buffer.from([0]), chunk])));
  });
  target.on("close", () => socket.end(closeFrame()));
  target.on("error", () => target.destroy());
  socket.on("close", () => target.destroy());

  let pending = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const parsed = parseFrame(pending);
      if (!parsed) return;
      pending = pending.subarray(parsed.length);
      if (parsed.opcode === 0x8) {
        socket.end(closeFrame());
        target.end();
        return;
      }
      if (parsed.opcode === 0x9) {
        socket.write(frame(parsed.payload, 0xa));
        continue;
      }
      // Binary data: the first byte is the channel, 0 for data.
      if (parsed.payload[0] === 0) target.write(parsed.payload.subarray(1));
    }
  });
}

/** Encodes one unmasked, final frame (servers never mask). */
function frame(payload: Buffer, opcode = 0x2): Buffer {
  const length = payload.length;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.from([0x80 | opcode, length]);
  } else if (length < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

function closeFrame(): Buffer {
  const code = Buffer.alloc(2);
  code.writeUInt16BE(1000);
  return frame(code, 0x8);
}

/** Decodes one client frame (always masked), or null when incomplete. */
function parseFrame(
  buffer: Buffer,
): { opcode: number; payload: Buffer; length: number } | null {
  if (buffer.length < 2) return null;
  const opcode = buffer[0]! & 0x0f;
  const masked = (buffer[1]! & 0x80) !== 0;
  let length = buffer[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return null;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return null;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const maskLength = masked ? 4 : 0;
  if (buffer.length < offset + maskLength + length) return null;
  const mask = buffer.subarray(offset, offset + maskLength);
  const payload = Buffer.from(
    buffer.subarray(offset + maskLength, offset + maskLength + length),
  );
  if (masked) {
    for (let index = 0; index < payload.length; index++) {
      payload[index]! ^= mask[index % 4]!;
    }
  }
  return { opcode, payload, length: offset + maskLength + length };
}

function parseSelector(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(",")
      .filter(Boolean)
      .map((term) => term.split("=") as [string, string]),
  );
}

function serviceObject(namespace: string, service: ServiceSpec) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: service.name, namespace },
    spec: {
      selector: service.selector,
      ports: [
        {
          name: "http",
          port: service.port,
          targetPort: service.targetPort,
          protocol: "TCP",
        },
      ],
    },
  };
}

function podObject(namespace: string, pod: PodSpec) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: pod.name, namespace, labels: pod.labels },
    spec: {
      containers: [{ name: "main", image: "stand-in", ports: pod.ports ?? [] }],
    },
    status: {
      phase: "Running",
      conditions: [{ type: "Ready", status: pod.ready ? "True" : "False" }],
    },
  };
}
