import { redactSecrets, redactText } from "./redact.js";
import { CheckFailure } from "./steps.js";

export { redactSecrets };

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface HttpRequest {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

/** Sends one request; rejects only when no response arrives. */
export type HttpClient = (request: HttpRequest) => Promise<HttpResponse>;

/** Maximum time in ms one request waits for its response. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** Sends requests with Node's fetch. Redirects are returned, not followed. */
export const fetchHttpClient: HttpClient = async (request) => {
  const response = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    signal: request.signal,
    redirect: "manual",
  });
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: await response.text(),
  };
};

/** A resolved Ory API base URL, and how it was found. */
export interface ResolvedEndpoint {
  /** The URL without a trailing slash, so paths join exactly. */
  url: string;
  /** Origin of the URL: a variable, the model or a port-forward. */
  source: string;
  /** Explains a connection failure (e.g. no ready pod), when it can. */
  diagnose?: () => string | undefined;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: unknown;
  /** "METHOD /path?query (label)", for messages. */
  request: string;
}

export interface ApiRequestOptions {
  query?: Record<string, string | number>;
  json?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  signal: AbortSignal;
}

/** One Ory API (for example Hydra's admin API) behind one base URL. */
export class OryApi {
  constructor(
    /** For messages, e.g. "hydra admin". */
    readonly label: string,
    readonly endpoint: ResolvedEndpoint,
    private readonly http: HttpClient,
  ) {}

  /**
   * Sends a request and returns any response. Throws a CheckFailure that
   * names the request when no response arrives.
   */
  async send(
    method: HttpMethod,
    path: string,
    options: ApiRequestOptions,
  ): Promise<ApiResponse> {
    const search = new URLSearchParams(
      Object.entries(options.query ?? {}).map(([key, value]) => [
        key,
        String(value),
      ]),
    ).toString();
    const target = search ? `${path}?${search}` : path;
    const described = `${method} ${target} (${this.label})`;
    const headers: Record<string, string> = {
      accept: "application/json",
      ...options.headers,
    };
    let body: string | undefined;
    if (options.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.json);
    } else if (options.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(options.form).toString();
    }

    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const signal = AbortSignal.any([options.signal, timeout]);
    let response: HttpResponse;
    try {
      response = await this.http({
        method,
        url: this.endpoint.url + target,
        headers,
        body,
        signal,
      });
    } catch (error) {
      throw new CheckFailure(
        `${described} got no response: ${describeNetworkError(error, timeout)}` +
          this.diagnosis(),
        { cause: error },
      );
    }
    return { ...response, json: parseJson(response.body), request: described };
  }

  private diagnosis(): string {
    const found = this.endpoint.diagnose?.();
    return found ? `; ${found}` : "";
  }
}

/**
 * Throws a CheckFailure unless the response has one of `expected` statuses.
 * The message contains the response body with secrets removed.
 */
export function expectStatus(
  response: ApiResponse,
  expected: number[],
  options: { retry?: boolean; hint?: string } = {},
): void {
  if (expected.includes(response.status)) return;
  const hint = options.hint ? `; ${options.hint}` : "";
  throw new CheckFailure(
    `${response.request} returned ${response.status}, expected ${expected.join(" or ")}: ${describeBody(response)}${hint}`,
    { retry: options.retry ?? isRetryableStatus(response.status) },
  );
}

/**
 * Statuses that can change while a rollout settles: timeouts, rate limits,
 * server errors, and 404 or 401 from a replica that has not seen a write yet.
 */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || [401, 404, 408, 409, 425, 429].includes(status);
}

/** Maximum length of a response body in a message. */
const BODY_LIMIT = 2_000;

/** Returns the body for a message: JSON with secrets removed, or text. */
export function describeBody(response: {
  body: string;
  json: unknown;
}): string {
  if (response.body.trim() === "") return "(empty body)";
  const text =
    response.json === undefined
      ? redactText(response.body)
      : JSON.stringify(redactSecrets(response.json));
  return text.length > BODY_LIMIT ? `${text.slice(0, BODY_LIMIT)}…` : text;
}

function parseJson(body: string): unknown {
  if (body.trim() === "") return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function describeNetworkError(error: unknown, timeout: AbortSignal): string {
  if (timeout.aborted) {
    return `no response within ${REQUEST_TIMEOUT_MS / 1000} s`;
  }
  const name = (error as Error)?.name;
  if (name === "AbortError" || name === "TimeoutError") {
    return "the step's deadline passed or the run was interrupted";
  }
  // fetch reports socket errors as "fetch failed" with the cause attached.
  const cause = (error as { cause?: { code?: string; message?: string } })
    ?.cause;
  if (cause?.code) return `${cause.code} (${cause.message ?? ""})`;
  return cause?.message ?? (error as Error)?.message ?? String(error);
}
