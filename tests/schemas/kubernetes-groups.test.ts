import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { apiVersionOf } from "../../tools/validate/schemas/kubernetes-groups.js";

const require = createRequire(import.meta.url);
const APIS_DIR = join(
  dirname(require.resolve("@kubernetes/client-node")),
  "gen",
  "apis",
);

/**
 * Reads the collection POST requests of the package's API classes and
 * returns the apiVersion of each request body model, such as
 * `V1Deployment` -> `apps/v1` from `/apis/apps/v1/namespaces/{namespace}/deployments`.
 */
function apiVersionsFromRequests(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of readdirSync(APIS_DIR)) {
    if (!file.endsWith("Api.js")) continue;
    const source = readFileSync(join(APIS_DIR, file), "utf8");
    for (const request of source.split("const localVarPath = ").slice(1)) {
      const path = /^'([^']+)'/.exec(request)?.[1];
      const body = /serialize\(body, "(\w+)"/.exec(request)?.[1];
      if (!path || !body || !request.includes("HttpMethod.POST")) continue;
      // A path with {name} addresses a subresource of one object, such as
      // .../pods/{name}/eviction, whose body kind may belong to another group.
      if (/\{name\}/.test(path)) continue;
      const match = /^\/api\/(v1)\/|^\/apis\/([^/]+)\/([^/]+)\//.exec(path);
      if (!match) continue;
      found.set(body, match[1] ?? `${match[2]}/${match[3]}`);
    }
  }
  return found;
}

describe("kubernetes-groups", () => {
  it("agrees with the API request paths", () => {
    const kinds = JSON.parse(
      readFileSync("tools/validate/schemas/kubernetes.json", "utf8"),
    ).kinds as Record<string, string>;
    const fromRequests = apiVersionsFromRequests();

    const unchecked: string[] = [];
    for (const model of Object.values(kinds)) {
      const expected = fromRequests.get(model);
      if (expected === undefined) {
        unchecked.push(model);
        continue;
      }
      expect(apiVersionOf(model), model).toBe(expected);
    }
    // No collection POST names the group of these kinds: ComponentStatus is
    // read-only, and the others are only sent to subresources.
    expect(unchecked.sort()).toEqual([
      "AuthenticationV1TokenRequest",
      "V1ComponentStatus",
      "V1Eviction",
      "V1Scale",
    ]);
  });

  it("parses class name prefixes", () => {
    expect(apiVersionOf("V1Deployment")).toBe("apps/v1");
    expect(apiVersionOf("V1Pod")).toBe("v1");
    expect(apiVersionOf("CoreV1Event")).toBe("v1");
    expect(apiVersionOf("V1beta1LeaseCandidate")).toBe(
      "coordination.k8s.io/v1beta1",
    );
    expect(apiVersionOf("V2HorizontalPodAutoscaler")).toBe("autoscaling/v2");
    expect(apiVersionOf("V1PodSpec")).toBeUndefined();
    expect(apiVersionOf("IntOrString")).toBeUndefined();
  });
});
