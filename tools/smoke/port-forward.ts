import net from "node:net";
import { Writable } from "node:stream";
import {
  ApiException,
  CoreV1Api,
  PortForward,
  type KubeConfig,
  type V1Pod,
} from "@kubernetes/client-node";
import { UsageError } from "../lib/errors.js";
import { describeKubernetesError } from "../lib/kubernetes.js";

/** One port of a Service, as `kubectl port-forward svc/NAME PORT` takes it. */
export interface ServicePortReference {
  namespace: string;
  service: string;
  port: number;
}

/**
 * A listener on 127.0.0.1 whose connections are tunnelled through the
 * Kubernetes API to a ready pod behind a Service.
 */
export interface ServicePortForward {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly localPort: number;
  /** The latest failure to reach a pod, or undefined after a success. */
  lastError(): string | undefined;
  close(): Promise<void>;
}

/**
 * Forwards a local port to `target`. The Service is read once, so a missing
 * Service or port raises a UsageError here. The pod is picked again for
 * every new connection, as pods change during a rollout. A connection that
 * finds no ready pod is closed, and lastError() returns the reason.
 */
export async function forwardServicePort(
  kubeConfig: KubeConfig,
  target: ServicePortReference,
): Promise<ServicePortForward> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const name = `${target.namespace}/${target.service}`;
  const where = `the Kubernetes API of context ${kubeConfig.getCurrentContext()}`;
  let service;
  try {
    service = await core.readNamespacedService({
      name: target.service,
      namespace: target.namespace,
    });
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) {
      throw new UsageError(
        `Service ${name} not found through ${where}; check that its HelmRelease is installed, or export the endpoint's URL`,
        { cause: error },
      );
    }
    throw describeKubernetesError(error, `read Service ${name}`, where);
  }
  const ports = service.spec?.ports ?? [];
  const servicePort = ports.find((entry) => entry.port === target.port);
  if (!servicePort) {
    throw new UsageError(
      `Service ${name} has no port ${target.port} (it has: ${ports.map((entry) => entry.port).join(", ") || "none"}); fix the port in the environment model`,
    );
  }
  const selector = service.spec?.selector ?? {};
  if (Object.keys(selector).length === 0) {
    throw new UsageError(
      `Service ${name} has no pod selector, so there is no pod to forward to; export the endpoint's URL instead`,
    );
  }
  const labelSelector = Object.entries(selector)
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
  const targetPort = servicePort.targetPort ?? servicePort.port;

  const pickPod = async (): Promise<{ pod: string; port: number }> => {
    const pods = await core.listNamespacedPod({
      namespace: target.namespace,
      labelSelector,
    });
    const ready = pods.items.find(isReadyPod);
    if (!ready?.metadata?.name) {
      const states = pods.items.map(
        (pod) => `${pod.metadata?.name} ${pod.status?.phase ?? "Unknown"}`,
      );
      throw new Error(
        `no ready pod behind Service ${name} (selector ${labelSelector}; pods: ${states.join(", ") || "none"})`,
      );
    }
    return {
      pod: ready.metadata.name,
      port: resolveContainerPort(ready, targetPort, name),
    };
  };

  const forwarder = new PortForward(kubeConfig, true);
  const sockets = new Set<net.Socket>();
  let failure: string | undefined;

  const bridge = async (socket: net.Socket) => {
    // Hold the client's bytes until the tunnel is open.
    socket.pause();
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    try {
      const { pod, port } = await pickPod();
      // The API server reports a failed dial inside the pod on the error
      // channel, and the data channel then stays silent.
      const errors = new Writable({
        write(chunk: Buffer, _encoding, done) {
          // The channel's first message holds only the port number, which
          // client-node strips, so it arrives here empty.
          const text = chunk.toString("utf8").trim();
          if (text !== "") {
            failure = `port-forward to pod ${target.namespace}/${pod} port ${port} failed: ${text}`;
            socket.destroy();
          }
          done();
        },
      });
      const tunnel = await forwarder.portForward(
        target.namespace,
        pod,
        [port],
        socket,
        errors,
        socket,
      );
      if (typeof tunnel === "function") {
        throw new Error("port-forward returned a reconnecting tunnel");
      }
      tunnel.on("close", () => socket.end());
      tunnel.on("error", (error: Error) => {
        failure = `port-forward to pod ${target.namespace}/${pod} failed: ${error.message}`;
        socket.destroy();
      });
      socket.on("close", () => tunnel.close());
      failure = undefined;
      socket.resume();
    } catch (error) {
      failure =
        error instanceof ApiException
          ? describeKubernetesError(
              error,
              `list the pods of Service ${name}`,
              where,
            ).message
          : `port-forward to Service ${name} failed: ${(error as Error).message}`;
      socket.destroy();
    }
  };

  const server = net.createServer((socket) => void bridge(socket));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port: localPort } = server.address() as net.AddressInfo;

  return {
    url: `http://127.0.0.1:${localPort}`,
    localPort,
    lastError: () => failure,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function isReadyPod(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  if (pod.status?.phase !== "Running") return false;
  return (pod.status.conditions ?? []).some(
    (condition) => condition.type === "Ready" && condition.status === "True",
  );
}

/** Resolves a Service's targetPort, which may name a container port. */
function resolveContainerPort(
  pod: V1Pod,
  targetPort: number | string,
  service: string,
): number {
  if (typeof targetPort === "number") return targetPort;
  if (/^\d+$/.test(targetPort)) return Number(targetPort);
  for (const container of pod.spec?.containers ?? []) {
    for (const port of container.ports ?? []) {
      if (port.name === targetPort) return port.containerPort;
    }
  }
  throw new Error(
    `pod ${pod.metadata?.name} has no container port named "${targetPort}", which Service ${service} targets`,
  );
}
