import {
  healthRoutes,
  oryError,
  type RecordedRequest,
  type StandInResponse,
} from "./server.js";

export interface Tuple {
  namespace: string;
  object: string;
  relation: string;
  subject_id: string;
}

export interface KetoMirror {
  tupleWritten(tuple: Tuple): Promise<void>;
  tupleDeleted(tuple: Tuple): Promise<void>;
}

export interface KetoState {
  namespaces: Set<string>;
  tuples: Tuple[];
}

const sameTuple = (a: Tuple, b: Partial<Tuple>) =>
  a.namespace === b.namespace &&
  a.object === b.object &&
  a.relation === b.relation &&
  a.subject_id === b.subject_id;

/**
 * Serves Keto's read API after its documented contract.
 * GET /relation-tuples/check returns 200 {allowed: true} or 403
 * {allowed: false}, and an unknown namespace is simply denied. Its
 * /openapi variant always returns 200. GET /relation-tuples/expand returns
 * the tree with the subject ids in each node's tuple, and GET
 * /relation-tuples lists one namespace with next_page_token.
 */
export function ketoRead(
  state: KetoState,
  notReady: () => Record<string, string> | undefined,
) {
  return (request: RecordedRequest): StandInResponse | undefined => {
    const health = healthRoutes(request, notReady(), "v26.2.0");
    if (health) return health;
    if (request.method !== "GET") return undefined;
    const query = request.query as Partial<Tuple>;
    if (
      request.path === "/relation-tuples/check" ||
      request.path === "/relation-tuples/check/openapi"
    ) {
      const allowed = state.tuples.some((tuple) => sameTuple(tuple, query));
      const status = allowed || request.path.endsWith("/openapi") ? 200 : 403;
      return { status, json: { allowed } };
    }
    if (request.path === "/relation-tuples/expand") {
      const matching = state.tuples.filter(
        (tuple) =>
          tuple.namespace === query.namespace &&
          tuple.object === query.object &&
          tuple.relation === query.relation,
      );
      if (matching.length === 0)
        return oryError(404, "no relation tuple found");
      return {
        status: 200,
        json: {
          type: "union",
          tuple: {
            namespace: query.namespace,
            object: query.object,
            relation: query.relation,
          },
          children: matching.map((tuple) => ({
            type: "leaf",
            tuple: {
              namespace: "",
              object: "",
              relation: "",
              subject_id: tuple.subject_id,
            },
          })),
        },
      };
    }
    if (request.path === "/relation-tuples") {
      const matching = state.tuples.filter(
        (tuple) => !query.namespace || tuple.namespace === query.namespace,
      );
      const size = Number(request.query.page_size ?? 100);
      const offset = Number(request.query.page_token || 0);
      const next = offset + size < matching.length ? String(offset + size) : "";
      return {
        status: 200,
        json: {
          relation_tuples: matching.slice(offset, offset + size),
          next_page_token: next,
        },
      };
    }
    return undefined;
  };
}

/**
 * Serves Keto's write API: PUT /admin/relation-tuples (201, or 404 for an
 * unknown namespace) and DELETE /admin/relation-tuples with the tuple in
 * the query (204 whether or not it existed).
 */
export function ketoWrite(
  state: KetoState,
  mirror: KetoMirror | undefined,
  notReady: () => Record<string, string> | undefined,
) {
  return async (
    request: RecordedRequest,
  ): Promise<StandInResponse | undefined> => {
    const health = healthRoutes(request, notReady(), "v26.2.0");
    if (health) return health;
    if (request.path !== "/admin/relation-tuples") return undefined;
    if (request.method === "PUT") {
      const tuple = request.body as Tuple | undefined;
      if (
        !tuple?.namespace ||
        !tuple.object ||
        !tuple.relation ||
        !tuple.subject_id
      ) {
        return oryError(
          400,
          "The request body must be a relation tuple with a subject_id.",
        );
      }
      if (!state.namespaces.has(tuple.namespace)) {
        return oryError(
          404,
          `Unknown namespace with name "${tuple.namespace}".`,
        );
      }
      if (!state.tuples.some((stored) => sameTuple(stored, tuple))) {
        state.tuples.push({ ...tuple });
        await mirror?.tupleWritten(tuple);
      }
      return { status: 201, json: tuple };
    }
    if (request.method === "DELETE") {
      const query = request.query as Partial<Tuple>;
      const remaining = state.tuples.filter(
        (tuple) => !sameTuple(tuple, query),
      );
      if (remaining.length !== state.tuples.length) {
        state.tuples = remaining;
        await mirror?.tupleDeleted(query as Tuple);
      }
      return { status: 204 };
    }
    return undefined;
  };
}
