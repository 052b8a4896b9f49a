import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validate } from "../../tools/validate/validate.js";
import { REPO_ROOT, removeTree } from "./fixture.js";

interface Edit {
  file: string;
  from: string | RegExp;
  to: string;
}

interface Case {
  name: string;
  edits?: Edit[];
  /** A strategic merge patch of one release's values, added to an overlay. */
  patch?: {
    environment: string;
    overlay?: "ory" | "crdb";
    release: string;
    namespace?: string;
    values: string;
  };
  rules: string[];
  at?: { file: string; line?: number };
  /** Validate only this environment's clusters, for speed. */
  environment?: string;
}

function indent(text: string, spaces: number): string {
  return text
    .split("\n")
    .map((line) => (line === "" ? line : " ".repeat(spaces) + line))
    .join("\n");
}

/**
 * Each case changes one thing in a copy of this repository's manifests, and
 * exactly the listed rules must fire; the unchanged repository passing is
 * every rule's passing case.
 */
const CASES: Case[] = [
  {
    name: "misspelt chart value",
    edits: [
      {
        file: "apps/hydra/helmrelease.yaml",
        from: "nameOverride: hydra",
        to: "nameOveride: hydra",
      },
    ],
    rules: ["ory-values-schema"],
    at: { file: "apps/hydra/helmrelease.yaml" },
    environment: "dev",
  },
  {
    name: "release Secret nobody provides",
    edits: [
      {
        file: "apps/keto/helmrelease.yaml",
        from: "nameOverride: keto",
        to: "nameOverride: keto-db",
      },
    ],
    rules: ["ory-dsn-deployment", "ory-dsn-job"],
    environment: "dev",
  },
  {
    name: "job extraEnv without DSN",
    edits: [
      {
        file: "apps/hydra/helmrelease.yaml",
        from: "nameOverride: hydra",
        to: "nameOverride: hydra-app",
      },
      {
        file: "apps/hydra/helmrelease.yaml",
        from: "    job:\n      spec:",
        to: "    job:\n      extraEnv:\n        - name: LOG_LEVEL\n          value: debug\n      spec:",
      },
    ],
    rules: ["ory-dsn-job"],
    environment: "dev",
  },
  {
    name: "Secret without a key the chart needs",
    edits: [
      {
        file: "environments/dev/environment.yaml",
        from: "keys: [dsn, secretsSystem, secretsCookie]",
        to: "keys: [dsn, secretsSystem]",
      },
    ],
    rules: ["ory-secret-keys"],
    environment: "dev",
  },
  {
    name: "misspelt Secret key",
    edits: [
      {
        file: "environments/dev/environment.yaml",
        from: "keys: [dsn, secretsSystem, secretsCookie]",
        to: "keys: [dsn, secretsSystem, secretCookie]",
      },
    ],
    rules: ["ory-secret-keys", "ory-secret-unknown-key"],
    environment: "dev",
  },
  {
    name: "password in a DSN",
    patch: {
      environment: "dev",
      release: "hydra",
      values:
        "hydra:\n  config:\n    dsn: cockroach://hydra:hunter2-secret@cockroachdb.dev.ory.example.com:26257/hydra?sslmode=verify-full",
    },
    rules: ["ory-plaintext-credential"],
    at: { file: "environments/dev/ory/mutation.yaml", line: 10 },
    environment: "dev",
  },
  {
    name: "plaintext Secret in git",
    edits: [
      {
        file: "apps/ory-charts/kustomization.yaml",
        from: "resources:\n",
        to: "resources:\n  - plain-secret.yaml\n",
      },
    ],
    patch: undefined,
    rules: ["ory-plaintext-credential"],
    environment: "dev",
  },
  {
    name: "postgres scheme against CockroachDB",
    patch: {
      environment: "dev",
      release: "hydra",
      values:
        "hydra:\n  config:\n    dsn: postgres://hydra@cockroachdb.dev.ory.example.com:26257/hydra?sslmode=verify-full",
    },
    rules: ["ory-dsn-scheme"],
    environment: "dev",
  },
  {
    name: "DSN naming another service's database",
    patch: {
      environment: "dev",
      release: "hydra",
      values:
        "hydra:\n  config:\n    dsn: cockroach://hydra@cockroachdb.dev.ory.example.com:26257/kratos",
    },
    rules: ["ory-dsn-database"],
    environment: "dev",
  },
  {
    name: "pool parameter that does not parse",
    patch: {
      environment: "dev",
      release: "hydra",
      values:
        "hydra:\n  config:\n    dsn: cockroach://hydra@cockroachdb.dev.ory.example.com:26257/hydra?max_conns=ten",
    },
    rules: ["ory-dsn-pool"],
    environment: "dev",
  },
  {
    name: "Keto in memory outside dev",
    patch: {
      environment: "staging",
      release: "keto",
      values: "keto:\n  config:\n    dsn: memory",
    },
    rules: ["keto-memory-dsn"],
    environment: "staging",
  },
  {
    name: "CockroachDB without verify-full outside dev",
    edits: [
      {
        file: "environments/staging/environment.yaml",
        from: "mode: verify-full",
        to: "mode: require",
      },
    ],
    rules: ["crdb-tls"],
    at: { file: "environments/staging/environment.yaml" },
  },
  {
    name: "two environments on one CockroachDB host",
    edits: [
      {
        file: "environments/staging/environment.yaml",
        from: "host: cockroachdb.staging.ory.example.com",
        to: "host: cockroachdb.dev.ory.example.com",
      },
    ],
    rules: ["crdb-chart", "crdb-host-shared"],
  },
  {
    name: "http issuer outside dev mode",
    patch: {
      environment: "staging",
      release: "hydra",
      values:
        "hydra:\n  config:\n    urls:\n      self:\n        issuer: http://auth.staging.ory.example.com",
    },
    rules: ["hydra-issuer"],
    environment: "staging",
  },
  {
    name: "short Hydra system secret in values",
    patch: {
      environment: "dev",
      release: "hydra",
      values:
        "hydra:\n  config:\n    secrets:\n      system:\n        - tooshort",
    },
    rules: ["hydra-system-secret", "ory-plaintext-credential"],
    environment: "dev",
  },
  {
    name: "Hydra dev mode in staging",
    patch: {
      environment: "staging",
      release: "hydra",
      values: "hydra:\n  dev: true",
    },
    rules: ["ory-dev-mode"],
    environment: "staging",
  },
  {
    name: "identity schema without the password identifier",
    edits: [
      {
        file: "apps/kratos/identity.schema.json",
        from: '"identifier": true',
        to: '"identifier": false',
      },
    ],
    rules: ["kratos-identity-schema"],
    environment: "dev",
  },
  {
    name: "identity schema fetched at run time",
    patch: {
      environment: "dev",
      release: "kratos",
      values:
        "kratos:\n  config:\n    identity:\n      schemas:\n        - id: default\n          url: https://storage.example.com/identity.schema.json",
    },
    rules: ["kratos-identity-schema"],
    environment: "dev",
  },
  {
    name: "default schema id naming no schema",
    patch: {
      environment: "dev",
      release: "kratos",
      values:
        "kratos:\n  config:\n    identity:\n      default_schema_id: person",
    },
    rules: ["kratos-identity-schema"],
    environment: "dev",
  },
  {
    name: "missing default browser return URL",
    edits: [
      {
        file: "environments/production/ory/values.yaml",
        from: "          default_browser_return_url: https://id.production.ory.example.com/\n",
        to: "",
      },
    ],
    rules: ["kratos-return-url"],
    environment: "production",
  },
  {
    name: "cipher secret of the wrong length",
    patch: {
      environment: "dev",
      release: "kratos",
      values:
        "kratos:\n  config:\n    secrets:\n      cipher:\n        - not-thirty-two-characters",
    },
    rules: ["kratos-cipher-length", "ory-plaintext-credential"],
    environment: "dev",
  },
  {
    name: "duplicate Keto namespace",
    edits: [
      {
        file: "apps/keto/helmrelease.yaml",
        from: "name: users",
        to: "name: documents",
      },
    ],
    rules: ["keto-namespaces"],
  },
  {
    name: "environment missing a Keto namespace",
    patch: {
      environment: "dev",
      release: "keto",
      values:
        "keto:\n  config:\n    namespaces:\n      - id: 0\n        name: default_namespace\n      - id: 1\n        name: documents",
    },
    rules: ["keto-namespaces"],
  },
  {
    name: "endpoint port that the chart does not serve",
    edits: [
      {
        file: "environments/dev/environment.yaml",
        from: "service: keto-read\n      port: 4466",
        to: "service: keto-read\n      port: 4460",
      },
    ],
    rules: ["ory-endpoint-service"],
    at: { file: "environments/dev/environment.yaml" },
    environment: "dev",
  },
  {
    name: "automigration turned off",
    patch: {
      environment: "dev",
      release: "keto",
      values: "keto:\n  automigration:\n    enabled: false",
    },
    rules: ["ory-automigration"],
    environment: "dev",
  },
  {
    name: "migration Job without retries",
    patch: {
      environment: "dev",
      release: "keto",
      values: "job:\n  spec:\n    backoffLimit: 0",
    },
    rules: ["ory-migration-retries"],
    environment: "dev",
  },
  {
    name: "latest image tag in staging",
    edits: [
      {
        file: "environments/staging/ory/versions.yaml",
        from: "tag: v26.2.0",
        to: "tag: latest",
      },
    ],
    rules: ["ory-image-pinned"],
  },
  {
    name: "chart version range in staging",
    edits: [
      {
        file: "environments/staging/ory/versions.yaml",
        from: "version: 0.62.1",
        to: "version: 0.62.x",
      },
    ],
    rules: ["ory-chart-version-exact"],
  },
  {
    name: "two replicas in production",
    edits: [
      {
        file: "environments/production/ory/values.yaml",
        from: "replicaCount: 3",
        to: "replicaCount: 2",
      },
    ],
    rules: ["ory-replicas"],
    at: { file: "environments/production/ory/values.yaml" },
    environment: "production",
  },
  {
    name: "spread over hosts instead of zones",
    edits: [
      {
        file: "environments/production/ory/values.yaml",
        from: "topologyKey: topology.kubernetes.io/zone",
        to: "topologyKey: kubernetes.io/hostname",
      },
    ],
    rules: ["ory-zone-spread"],
    environment: "production",
  },
  {
    name: "no disruption budget in production",
    edits: [
      {
        file: "environments/production/ory/values.yaml",
        from: "    pdb:\n      enabled: true",
        to: "    pdb:\n      enabled: false",
      },
    ],
    rules: ["ory-pdb"],
    environment: "production",
  },
  {
    name: "no resource requests in production",
    patch: {
      environment: "production",
      release: "hydra",
      values: "deployment:\n  resources:\n    requests: null",
    },
    rules: ["ory-resources"],
    environment: "production",
  },
  {
    name: "admin API on an Ingress in production",
    patch: {
      environment: "production",
      release: "hydra",
      values: "ingress:\n  admin:\n    enabled: true",
    },
    rules: ["ory-admin-exposure"],
    environment: "production",
  },
  {
    name: "production ahead of staging",
    edits: [
      {
        file: "environments/production/ory/versions.yaml",
        from: "tag: v26.2.0",
        to: "tag: v26.3.0",
      },
    ],
    rules: ["ory-promotion-order"],
    at: { file: "environments/production/ory/versions.yaml" },
  },
  {
    name: "CockroachDB locality naming a zone",
    edits: [
      {
        file: "environments/production/crdb/values.yaml",
        from: "locality: region=us-east-1",
        to: "locality: region=us-east-1,zone=us-east-1a",
      },
    ],
    rules: ["crdb-chart"],
    at: { file: "environments/production/crdb/values.yaml" },
    environment: "production",
  },
  {
    name: "CockroachDB spread given as a list",
    edits: [
      {
        file: "apps/cockroachdb/helmrelease.yaml",
        from: "      topologySpreadConstraints:\n        maxSkew: 1\n        topologyKey: topology.kubernetes.io/zone\n        whenUnsatisfiable: DoNotSchedule\n",
        to: "      topologySpreadConstraints:\n        - maxSkew: 1\n          topologyKey: topology.kubernetes.io/zone\n          whenUnsatisfiable: DoNotSchedule\n",
      },
    ],
    rules: ["crdb-chart"],
    environment: "production",
  },
];

const PLAIN_SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: leaked
  namespace: ory
stringData:
  password: not-a-real-password
`;

describe("Ory and CockroachDB rules on this repository", () => {
  let pristine: string;

  beforeAll(async () => {
    pristine = await mkdtemp(path.join(os.tmpdir(), "ory-rules-pristine-"));
    for (const folder of ["apps", "clusters", "environments"]) {
      await cp(path.join(REPO_ROOT, folder), path.join(pristine, folder), {
        recursive: true,
      });
    }
    await writeFile(
      path.join(pristine, "apps/ory-charts/plain-secret.yaml"),
      PLAIN_SECRET,
    );
  });

  afterAll(async () => {
    await removeTree(pristine);
  });

  for (const testCase of CASES) {
    it(`reports ${testCase.name}`, async () => {
      const root = await mkdtemp(path.join(os.tmpdir(), "ory-rules-"));
      try {
        await cp(pristine, root, { recursive: true });
        for (const edit of testCase.edits ?? []) {
          const target = path.join(root, edit.file);
          const original = await readFile(target, "utf8");
          const changed = original.replace(edit.from, edit.to);
          expect(changed, `edit of ${edit.file}`).not.toBe(original);
          await writeFile(target, changed);
        }
        if (testCase.patch) {
          const { environment, release, values } = testCase.patch;
          const overlay = path.join(
            root,
            "environments",
            environment,
            testCase.patch.overlay ?? "ory",
          );
          const patch = [
            "apiVersion: helm.toolkit.fluxcd.io/v2",
            "kind: HelmRelease",
            "metadata:",
            `  name: ${release}`,
            `  namespace: ${testCase.patch.namespace ?? "ory"}`,
            "spec:",
            "  values:",
            indent(values, 4),
            "",
          ].join("\n");
          await writeFile(path.join(overlay, "mutation.yaml"), patch);
          const kustomization = path.join(overlay, "kustomization.yaml");
          const text = await readFile(kustomization, "utf8");
          await writeFile(
            kustomization,
            text.replace(
              "  - path: values.yaml",
              "  - path: values.yaml\n  - path: mutation.yaml",
            ),
          );
        }

        const result = await validate({
          root,
          ...(testCase.environment
            ? { environment: testCase.environment }
            : {}),
        });
        const rules = [
          ...new Set(result.findings.map((finding) => finding.rule)),
        ].sort();
        expect(rules).toEqual([...testCase.rules].sort());
        if (testCase.at) {
          const first = result.findings.find(
            (finding) => finding.rule === testCase.rules[0],
          )!;
          expect(first.file).toBe(testCase.at.file);
          if (testCase.at.line !== undefined)
            expect(first.line).toBe(testCase.at.line);
        }
        for (const finding of result.findings) {
          expect(finding.message).not.toContain("hunter2-secret");
          expect(finding.message).not.toContain("not-a-real-password");
        }
      } finally {
        await removeTree(root);
      }
    });
  }
});
