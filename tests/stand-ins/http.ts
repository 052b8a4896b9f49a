import type { IncomingMessage, ServerResponse } from "node:http";

/** Reads a request body as UTF-8 text. */
export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Sends `body` as JSON with `status` and any extra headers. */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    "content-type": "application/json",
    ...headers,
  });
  response.end(JSON.stringify(body));
}

/** Builds a Kubernetes Status object, the body of every API error. */
export function kubernetesStatus(
  code: number,
  reason: string,
  message: string,
) {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  };
}

/** Sends a Kubernetes Status object, as the API server does for errors. */
export function sendKubernetesStatus(
  response: ServerResponse,
  code: number,
  reason: string,
  message: string,
): void {
  sendJson(response, code, kubernetesStatus(code, reason, message));
}
