import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { readBody, sendJson } from "./http.js";

/**
 * A loopback HTTP server that serves the part of GitHub's REST API that
 * promote and post-sync use, after GitHub's documented contract:
 *
 * - GET  /repos/{owner}/{repo}/commits/{ref}/status   combined status
 * - POST /repos/{owner}/{repo}/statuses/{sha}         create a status
 * - GET  /repos/{owner}/{repo}/pulls?state&head&base  list pull requests
 * - POST /repos/{owner}/{repo}/pulls                  422 "already exists"
 *                                                     for a second open one
 * - PATCH /repos/{owner}/{repo}/pulls/{number}        title, body, state
 * - POST /repos/{owner}/{repo}/issues/{number}/labels
 * - POST /repos/{owner}/{repo}/issues/{number}/comments
 *
 * Requests must carry the token. Every request is recorded, and `fail`
 * queues error answers (a 502, a rate limit) for the next matching ones.
 * It keeps one repository's state in memory and does not check that a
 * pull request's head branch exists.
 */
export interface RecordedGitHubRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

export interface StoredStatus {
  context: string;
  state: "success" | "failure" | "error" | "pending";
  target_url: string | null;
  description: string | null;
}

export interface StoredPullRequest {
  number: number;
  state: "open" | "closed";
  title: string;
  body: string;
  head: string;
  base: string;
  labels: string[];
  comments: string[];
}

export interface QueuedFailure {
  method: string;
  /** Matches the request path, e.g. /\/pulls$/. */
  path: RegExp;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** How many matching requests fail; default 1. */
  times?: number;
}

export interface GitHubApiStandIn {
  /** Base URL to use as GITHUB_API_URL. */
  url: string;
  token: string;
  owner: string;
  repo: string;
  requests: RecordedGitHubRequest[];
  /** Statuses per commit SHA, oldest first. */
  statuses: Map<string, StoredStatus[]>;
  pulls: StoredPullRequest[];
  addStatus(sha: string, context: string, state: StoredStatus["state"]): void;
  fail(failure: QueuedFailure): void;
  /** Requests other than GETs: the ones that change something. */
  writes(): RecordedGitHubRequest[];
  close(): Promise<void>;
}

export interface GitHubStandInOptions {
  token?: string;
  owner?: string;
  repo?: string;
}

/** Starts the stand-in on 127.0.0.1 and a free port. */
export async function startGitHubApiStandIn(
  options: GitHubStandInOptions = {},
): Promise<GitHubApiStandIn> {
  const token = options.token ?? "github-stand-in-token";
  const owner = options.owner ?? "example-org";
  const repo = options.repo ?? "ory-crdb-gitops";
  const requests: RecordedGitHubRequest[] = [];
  const statuses = new Map<string, StoredStatus[]>();
  const pulls: StoredPullRequest[] = [];
  const failures: QueuedFailure[] = [];
  let url = "";

  const addStatus = (
    sha: string,
    context: string,
    state: StoredStatus["state"],
    target_url: string | null = null,
    description: string | null = null,
  ) => {
    const list = statuses.get(sha) ?? [];
    list.push({ context, state, target_url, description });
    statuses.set(sha, list);
  };

  const pullJson = (pull: StoredPullRequest) => ({
    number: pull.number,
    state: pull.state,
    title: pull.title,
    body: pull.body,
    html_url: `https://github.example/${owner}/${repo}/pull/${pull.number}`,
    head: { ref: pull.head, label: `${owner}:${pull.head}` },
    base: { ref: pull.base },
    labels: pull.labels.map((name) => ({ name })),
  });

  const server = createServer(async (request, response) => {
    const parsed = new URL(request.url ?? "/", "http://stand-in");
    const text = await readBody(request);
    const recorded: RecordedGitHubRequest = {
      method: request.method ?? "",
      path: parsed.pathname,
      query: Object.fromEntries(parsed.searchParams),
      body: text ? JSON.parse(text) : undefined,
    };
    requests.push(recorded);

    const authorization = request.headers.authorization ?? "";
    if (authorization !== `token ${token}`) {
      return sendJson(response, 401, {
        message: "Bad credentials",
        documentation_url: "https://docs.github.com/rest",
      });
    }
    const failure = failures.find(
      (candidate) =>
        candidate.method === recorded.method &&
        candidate.path.test(recorded.path),
    );
    if (failure) {
      failure.times = (failure.times ?? 1) - 1;
      if (failure.times <= 0) failures.splice(failures.indexOf(failure), 1);
      return sendJson(
        response,
        failure.status,
        failure.body ?? { message: "stand-in failure" },
        failure.headers,
      );
    }

    const prefix = `/repos/${owner}/${repo}`;
    if (!recorded.path.startsWith(`${prefix}/`)) {
      return sendJson(response, 404, { message: "Not Found" });
    }
    const route = recorded.path.slice(prefix.length);
    const body = (recorded.body ?? {}) as Record<string, unknown>;
    let match: RegExpExecArray | null;

    if (
      recorded.method === "GET" &&
      (match = /^\/commits\/([^/]+)\/status$/.exec(route))
    ) {
      const sha = match[1] as string;
      const latest = new Map<string, StoredStatus>();
      for (const status of statuses.get(sha) ?? []) {
        latest.set(status.context, status);
      }
      const list = [...latest.values()].reverse();
      const state = list.some(
        (s) => s.state === "failure" || s.state === "error",
      )
        ? "failure"
        : list.length > 0 && list.every((s) => s.state === "success")
          ? "success"
          : "pending";
      return sendJson(response, 200, {
        state,
        sha,
        total_count: list.length,
        statuses: list.map((status, index) => ({ id: index + 1, ...status })),
      });
    }
    if (
      recorded.method === "POST" &&
      (match = /^\/statuses\/([0-9a-f]{40})$/.exec(route))
    ) {
      addStatus(
        match[1] as string,
        String(body.context ?? "default"),
        body.state as StoredStatus["state"],
        (body.target_url as string | undefined) ?? null,
        (body.description as string | undefined) ?? null,
      );
      return sendJson(response, 201, {
        state: body.state,
        context: body.context,
      });
    }
    if (route === "/pulls" && recorded.method === "GET") {
      const head = recorded.query.head;
      const list = pulls.filter(
        (pull) =>
          (recorded.query.state === "all" ||
            pull.state === (recorded.query.state ?? "open")) &&
          (head === undefined || `${owner}:${pull.head}` === head) &&
          (recorded.query.base === undefined ||
            pull.base === recorded.query.base),
      );
      return sendJson(response, 200, list.map(pullJson));
    }
    if (route === "/pulls" && recorded.method === "POST") {
      const head = String(body.head ?? "");
      const base = String(body.base ?? "");
      if (
        pulls.some(
          (p) => p.state === "open" && p.head === head && p.base === base,
        )
      ) {
        return sendJson(response, 422, {
          message: "Validation Failed",
          errors: [
            {
              resource: "PullRequest",
              code: "custom",
              message: `A pull request already exists for ${owner}:${head}.`,
            },
          ],
        });
      }
      const pull: StoredPullRequest = {
        number: pulls.length + 1,
        state: "open",
        title: String(body.title ?? ""),
        body: String(body.body ?? ""),
        head,
        base,
        labels: [],
        comments: [],
      };
      pulls.push(pull);
      return sendJson(response, 201, pullJson(pull));
    }
    match = /^\/(pulls|issues)\/(\d+)(\/labels|\/comments)?$/.exec(route);
    const pull = match
      ? pulls.find((p) => p.number === Number(match?.[2]))
      : undefined;
    if (match && !pull)
      return sendJson(response, 404, { message: "Not Found" });
    if (
      pull &&
      match?.[1] === "pulls" &&
      !match[3] &&
      recorded.method === "PATCH"
    ) {
      if (typeof body.title === "string") pull.title = body.title;
      if (typeof body.body === "string") pull.body = body.body;
      if (body.state === "closed" || body.state === "open")
        pull.state = body.state;
      return sendJson(response, 200, pullJson(pull));
    }
    if (pull && match?.[3] === "/labels" && recorded.method === "POST") {
      for (const label of (body.labels as string[] | undefined) ?? []) {
        if (!pull.labels.includes(label)) pull.labels.push(label);
      }
      return sendJson(
        response,
        200,
        pull.labels.map((name) => ({ name })),
      );
    }
    if (pull && match?.[3] === "/comments" && recorded.method === "POST") {
      pull.comments.push(String(body.body ?? ""));
      return sendJson(response, 201, {
        id: pull.comments.length,
        body: body.body,
      });
    }
    return sendJson(response, 404, { message: "Not Found" });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    token,
    owner,
    repo,
    requests,
    statuses,
    pulls,
    addStatus: (sha, context, state) => addStatus(sha, context, state),
    fail: (failure) => failures.push({ ...failure }),
    writes: () => requests.filter((request) => request.method !== "GET"),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
