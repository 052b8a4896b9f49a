import { Ajv, type ErrorObject } from "ajv";

/**
 * What `bootstrap cluster` creates or checks on AWS for one EKS cluster, read
 * from `clusters/<name>/cluster.yaml`. Region and zones come from the
 * environment model, so they are not repeated here.
 */
export interface ClusterSpec {
  name: string;
  environment: string;
  /** ory runs Hydra, Kratos and Keto; crdb runs CockroachDB. */
  role: "ory" | "crdb";
  kubernetesVersion: string;
  clusterRoleArn: string;
  /** Subnet ids keyed by availability zone. */
  subnets: Record<string, string[]>;
  endpointAccess: {
    public: boolean;
    private: boolean;
    publicCidrs: string[];
  };
  tags: Record<string, string>;
  nodeGroup: NodeGroupSpec;
}

export interface NodeGroupSpec {
  name: string;
  instanceType: string;
  amiType: string;
  minSize: number;
  desiredSize: number;
  maxSize: number;
  nodeRoleArn: string;
}

/** JSON Schema of `cluster.yaml`. */
export const clusterSpecSchema = {
  $id: "https://ory-crdb-gitops.example/cluster.schema.json",
  title: "ClusterSpec",
  type: "object",
  additionalProperties: false,
  required: [
    "name",
    "environment",
    "role",
    "kubernetesVersion",
    "clusterRoleArn",
    "subnets",
    "endpointAccess",
    "tags",
    "nodeGroup",
  ],
  properties: {
    name: { type: "string", pattern: "^[a-zA-Z][-a-zA-Z0-9]{0,99}$" },
    environment: { type: "string", pattern: "^[a-z][a-z0-9-]{0,30}$" },
    role: { enum: ["ory", "crdb"] },
    kubernetesVersion: { type: "string", pattern: "^1\\.[0-9]{2}$" },
    clusterRoleArn: {
      type: "string",
      pattern: "^arn:aws[-a-z]*:iam::[0-9]{12}:role/.+$",
    },
    subnets: {
      type: "object",
      minProperties: 3,
      propertyNames: { pattern: "^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$" },
      additionalProperties: {
        type: "array",
        minItems: 1,
        uniqueItems: true,
        items: { type: "string", pattern: "^subnet-[0-9a-f]{8,17}$" },
      },
    },
    endpointAccess: {
      type: "object",
      additionalProperties: false,
      required: ["public", "private", "publicCidrs"],
      properties: {
        public: { type: "boolean" },
        private: { type: "boolean" },
        publicCidrs: {
          type: "array",
          items: {
            type: "string",
            pattern: "^([0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2}$",
          },
        },
      },
    },
    tags: {
      type: "object",
      additionalProperties: { type: "string", maxLength: 256 },
    },
    nodeGroup: {
      type: "object",
      additionalProperties: false,
      required: [
        "name",
        "instanceType",
        "amiType",
        "minSize",
        "desiredSize",
        "maxSize",
        "nodeRoleArn",
      ],
      properties: {
        name: { type: "string", pattern: "^[a-zA-Z0-9][-_a-zA-Z0-9]{0,62}$" },
        instanceType: { type: "string", pattern: "^[a-z0-9]+\\.[a-z0-9]+$" },
        amiType: { type: "string", minLength: 1 },
        minSize: { type: "integer", minimum: 0 },
        desiredSize: { type: "integer", minimum: 0 },
        maxSize: { type: "integer", minimum: 1 },
        nodeRoleArn: {
          type: "string",
          pattern: "^arn:aws[-a-z]*:iam::[0-9]{12}:role/.+$",
        },
      },
    },
  },
} as const;

let compiled: ReturnType<Ajv["compile"]> | undefined;

/** A problem in a cluster.yaml, with the JSON pointer of the offending value. */
export interface ClusterSpecProblem {
  pointer: string;
  message: string;
}

/**
 * Checks parsed cluster.yaml data against the schema and the sizing rules the
 * schema cannot express: min <= desired <= max, and a CockroachDB cluster
 * never below one node per zone.
 */
export function checkClusterSpec(data: unknown): ClusterSpecProblem[] {
  compiled ??= new Ajv({ allErrors: true, strict: true }).compile(
    clusterSpecSchema,
  );
  if (!compiled(data)) {
    return (compiled.errors ?? []).map((error) => ({
      pointer: error.instancePath,
      message: describe(error),
    }));
  }
  const spec = data as ClusterSpec;
  const problems: ClusterSpecProblem[] = [];
  const group = spec.nodeGroup;
  if (!(
    group.minSize <= group.desiredSize && group.desiredSize <= group.maxSize
  )) {
    problems.push({
      pointer: "/nodeGroup",
      message: `nodeGroup sizes must satisfy minSize <= desiredSize <= maxSize (got ${group.minSize} / ${group.desiredSize} / ${group.maxSize})`,
    });
  }
  const zones = Object.keys(spec.subnets).length;
  if (spec.role === "crdb" && group.minSize < zones) {
    problems.push({
      pointer: "/nodeGroup/minSize",
      message: `a CockroachDB cluster needs one node per zone: minSize ${group.minSize} is below the ${zones} zones; set it to at least ${zones}`,
    });
  }
  return problems;
}

function describe(error: ErrorObject): string {
  const where =
    error.instancePath === ""
      ? "the file"
      : error.instancePath.slice(1).replaceAll("/", ".");
  if (error.keyword === "additionalProperties") {
    return `${where}: unknown field "${String(error.params.additionalProperty)}"; remove it or fix its spelling`;
  }
  if (error.keyword === "required") {
    return `${where}: missing required field "${String(error.params.missingProperty)}"`;
  }
  return `${where}: ${error.message ?? "is invalid"}`;
}
