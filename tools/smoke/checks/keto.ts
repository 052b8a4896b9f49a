import { randomBytes } from "node:crypto";
import { api, sqlSkipReason, type CheckContext } from "../context.js";
import {
  describeBody,
  expectStatus,
  type ApiResponse,
  type OryApi,
} from "../http.js";
import {
  CheckFailure,
  type StepContext,
  type StepDefinition,
} from "../steps.js";
import { healthStep, versionStep } from "./health.js";

/** Relation of the tuples a writing run creates. */
export const SMOKE_RELATION = "viewer";

/** A relation tuple with a subject id, in Keto's JSON field names. */
export interface RelationTuple {
  namespace: string;
  object: string;
  relation: string;
  subject_id: string;
}

/** Keto's steps: health, version, then the writing or the read-only chain. */
export function ketoSteps(context: CheckContext): StepDefinition[] {
  const read = api(context, "ketoRead");
  const write = api(context, "ketoWrite");
  const common = [
    healthStep("health: read API", read),
    healthStep("health: write API", write),
    versionStep(read),
  ];
  return common.concat(
    context.readOnly
      ? readOnlySteps(context, read)
      : writingSteps(context, read, write),
  );
}

function writingSteps(
  context: CheckContext,
  read: OryApi,
  write: OryApi,
): StepDefinition[] {
  const tuple: RelationTuple = {
    namespace: context.environment.smoke.ketoNamespace,
    object: context.runId,
    relation: SMOKE_RELATION,
    subject_id: `${context.runId}-reader`,
  };
  let cleanupRegistered = false;
  return [
    {
      name: `write relation tuple in ${tuple.namespace}`,
      run: async ({ signal }) => {
        if (!cleanupRegistered) {
          cleanupRegistered = true;
          context.cleanup.push("keto", "delete the relation tuple", (step) =>
            deleteTuple(write, tuple, step),
          );
        }
        const response = await write.send("PUT", "/admin/relation-tuples", {
          json: tuple,
          signal,
        });
        expectStatus(response, [201], {
          hint: `check that namespace ${tuple.namespace} is configured in Keto`,
        });
        return describeTuple(tuple);
      },
    },
    ...checkSteps(context, read, tuple, "the written tuple"),
  ];
}

function readOnlySteps(context: CheckContext, read: OryApi): StepDefinition[] {
  const fixture = context.environment.smoke.fixtures.ketoTuple;
  const tuple: RelationTuple = {
    namespace: fixture.namespace,
    object: fixture.object,
    relation: fixture.relation,
    subject_id: fixture.subjectId,
  };
  return checkSteps(context, read, tuple, "the seeded fixture tuple");
}

/** Check allowed, check denied, expand, then the tuple's rows in SQL. */
function checkSteps(
  context: CheckContext,
  read: OryApi,
  tuple: RelationTuple,
  origin: string,
): StepDefinition[] {
  const stranger = `${context.runId}-stranger-${randomBytes(3).toString("hex")}`;
  const database = context.environment.databases.keto.database;
  return [
    {
      name: "check is allowed",
      run: async (step) => {
        const verdict = await check(read, tuple, step);
        if (verdict.allowed) return `${tuple.subject_id} is allowed`;
        // An unknown namespace is also "denied", so after a write a denial
        // means the tuple is not visible or the namespace is missing.
        throw new CheckFailure(
          `${verdict.response.request} denied ${tuple.subject_id} (${verdict.response.status}: ${describeBody(verdict.response)}) although ${origin} allows it; check that namespace ${tuple.namespace} is configured in Keto`,
        );
      },
    },
    {
      name: "check of another subject is denied",
      run: async (step) => {
        const other = { ...tuple, subject_id: stranger };
        const verdict = await check(read, other, step);
        if (!verdict.allowed) return `${stranger} is denied`;
        throw new CheckFailure(
          `${verdict.response.request} allowed ${stranger}, who has no relation tuple`,
          { retry: false },
        );
      },
    },
    {
      name: "expand shows the subject",
      run: async ({ signal }) => {
        const response = await read.send("GET", "/relation-tuples/expand", {
          query: {
            namespace: tuple.namespace,
            object: tuple.object,
            relation: tuple.relation,
            "max-depth": 3,
          },
          signal,
        });
        expectStatus(response, [200]);
        const subjects = collectSubjects(response.json);
        if (!subjects.includes(tuple.subject_id)) {
          throw new CheckFailure(
            `${response.request} does not show ${tuple.subject_id}: ${describeBody(response)}`,
          );
        }
        return `${subjects.length} subject${subjects.length === 1 ? "" : "s"}`;
      },
    },
    {
      name: "sql: tuple through the uuid mappings",
      skipReason: () => sqlSkipReason(context),
      run: async () => {
        // Keto stores objects and subject ids as UUIDs and keeps the strings
        // in keto_uuid_mappings.
        const rows = await context.sql.query(
          database,
          `SELECT t.relation
             FROM keto_relation_tuples AS t
             JOIN keto_uuid_mappings AS o ON o.id = t.object
             JOIN keto_uuid_mappings AS s ON s.id = t.subject_id
            WHERE t.namespace = $1 AND o.string_representation = $2
              AND t.relation = $3 AND s.string_representation = $4`,
          [tuple.namespace, tuple.object, tuple.relation, tuple.subject_id],
        );
        if (rows.length === 0) {
          throw new CheckFailure(
            `keto_relation_tuples in database ${database} has no row for ${describeTuple(tuple)}`,
          );
        }
        return describeTuple(tuple);
      },
    },
  ];
}

/**
 * Queries Keto's check endpoint, which returns 200 when allowed and 403
 * when denied. The body's `allowed` is read too, so a 200 with
 * `allowed: false` (the form of the `/openapi` variant) also counts as
 * denied.
 */
async function check(
  read: OryApi,
  tuple: RelationTuple,
  { signal }: StepContext,
): Promise<{ allowed: boolean; response: ApiResponse }> {
  const response = await read.send("GET", "/relation-tuples/check", {
    query: { ...tuple },
    signal,
  });
  expectStatus(response, [200, 403]);
  const allowed =
    response.status === 200 &&
    (response.json as { allowed?: unknown })?.allowed === true;
  return { allowed, response };
}

/**
 * Collects the subject ids in an expand tree. Keto 0.10 and later put them
 * in each node's `tuple`, and earlier versions on the node itself.
 */
export function collectSubjects(tree: unknown): string[] {
  const found: string[] = [];
  const visit = (node: unknown) => {
    if (!node || typeof node !== "object") return;
    const { tuple, subject_id, children } = node as {
      tuple?: { subject_id?: unknown };
      subject_id?: unknown;
      children?: unknown;
    };
    const subject = tuple?.subject_id ?? subject_id;
    if (typeof subject === "string") found.push(subject);
    if (Array.isArray(children)) children.forEach(visit);
  };
  visit(tree);
  return found;
}

/** Deletes one tuple. Keto returns 204 whether or not it existed. */
export async function deleteTuple(
  write: OryApi,
  tuple: RelationTuple,
  { signal }: StepContext,
): Promise<string> {
  const response = await write.send("DELETE", "/admin/relation-tuples", {
    query: { ...tuple },
    signal,
  });
  expectStatus(response, [204]);
  return `deleted ${describeTuple(tuple)}`;
}

/** Formats a tuple as Keto's text form `namespace:object#relation@subject`. */
export function describeTuple(tuple: RelationTuple): string {
  return `${tuple.namespace}:${tuple.object}#${tuple.relation}@${tuple.subject_id}`;
}
