import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** One request as a stand-in received it. */
export interface RecordedRequest {
  /** Which API received it, e.g. "hydra admin". */
  api: string;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON or form body, or the raw text. */
  body: unknown;
}

/** A response, or `hang` to keep the request open until the client leaves. */
export type StandInResponse =
  | { status: number; json?: unknown; headers?: Record<string, string> }
  | { hang: true };

/** Returns the response to a request, or undefined for "no such route" (404). */
export type RouteHandler = (
  request: RecordedRequest,
) => Promise<StandInResponse | undefined> | StandInResponse | undefined;

export interface SharedBehaviour {
  /** Every request of every API, in arrival order. */
  log: RecordedRequest[];
  /** Delay in ms before every response. */
  latencyMs: number;
  /** Replaces the normal response when it returns one. */
  override?: RouteHandler;
}

export interface ApiServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Starts one API on 127.0.0.1 and a free port. Paths match exactly, as
 * Ory's routers do: a trailing slash gets 404.
 */
export async function startApiServer(
  api: string,
  handler: RouteHandler,
  shared: SharedBehaviour,
): Promise<ApiServer> {
  const server = createServer((request, response) => {
    void answer(api, request, response, handler, shared).catch((error) => {
      if (!response.headersSent) {
        send(response, { status: 500, json: { error: String(error) } });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function answer(
  api: string,
  request: IncomingMessage,
  response: ServerResponse,
  handler: RouteHandler,
  shared: SharedBehaviour,
): Promise<void> {
  const url = new URL(request.url ?? "/", "http://stand-in");
  const text = await readBody(request);
  const recorded: RecordedRequest = {
    api,
    method: request.method ?? "",
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: request.headers,
    body: parseBody(text, request.headers["content-type"]),
  };
  shared.log.push(recorded);
  if (shared.latencyMs > 0) await sleep(shared.latencyMs);

  const result = (await shared.override?.(recorded)) ??
    (await handler(recorded)) ?? {
      status: 404,
      json: {
        error: {
          code: 404,
          status: "Not Found",
          message: "The requested resource could not be found",
        },
      },
    };
  if ("hang" in result) return;
  send(response, result);
}

function send(
  response: ServerResponse,
  result: { status: number; json?: unknown; headers?: Record<string, string> },
): void {
  const headers: Record<string, string> = { ...result.headers };
  if (result.json !== undefined) {
    headers["content-type"] = "application/json; charset=utf-8";
  }
  response.writeHead(result.status, headers);
  response.end(result.json === undefined ? "" : JSON.stringify(result.json));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (text === "") return undefined;
  if (contentType?.startsWith("application/json")) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  if (contentType?.startsWith("application/x-www-form-urlencoded")) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  return text;
}

/** The health and version routes every Ory API serves. */
export function healthRoutes(
  request: RecordedRequest,
  notReady: Record<string, string> | undefined,
  version: string,
): StandInResponse | undefined {
  if (request.method !== "GET") return undefined;
  switch (request.path) {
    case "/health/alive":
      return { status: 200, json: { status: "ok" } };
    case "/health/ready":
      return notReady
        ? { status: 503, json: { errors: notReady } }
        : { status: 200, json: { status: "ok" } };
    case "/version":
      return { status: 200, json: { version } };
  }
  return undefined;
}

/** Ory's JSON error envelope. */
export function oryError(
  status: number,
  reason: string,
  message = reason,
): StandInResponse {
  return {
    status,
    json: {
      error: { code: status, status: statusText(status), reason, message },
    },
  };
}

function statusText(status: number): string {
  return (
    (
      {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
      } as Record<number, string>
    )[status] ?? "Error"
  );
}

/**
 * Pages `items` by an offset carried in `page_token`, adding the Link
 * header with rel="next" that Hydra and Kratos send when more remain.
 */
export function paginate<T>(
  items: T[],
  request: RecordedRequest,
  defaultSize: number,
): { page: T[]; headers: Record<string, string> } {
  const size = Number(request.query.page_size ?? defaultSize);
  const offset = Number(request.query.page_token ?? 0);
  const page = items.slice(offset, offset + size);
  const headers: Record<string, string> = {};
  if (offset + size < items.length) {
    const next = new URLSearchParams({
      ...request.query,
      page_size: String(size),
      page_token: String(offset + size),
    });
    headers.link = `<${request.path}?${next}>; rel="next"`;
  }
  return { page, headers };
}
