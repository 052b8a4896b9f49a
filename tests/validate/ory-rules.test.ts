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
  /** Files written into the copy before the edits, by relative path. */
  files?: Record<string, string>;
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
  /** Secret values the case writes, which no finding message may contain. */
  secrets?: string[];
}

function indent(text: string, spaces: number): string {
  return text
    .split("\n")
    .map((line) => (line === "" ? line : " ".repeat(spaces) + line))
    .join("\n");
}

const PLAIN_SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: leaked
  namespace: ory
stringData:
  password: not-a-real-password
`;

const DIGEST = "0123456789abcdef".repeat(4);

/** A ConfigMap in namespace ory whose values.yaml contains `values`. */
function valuesConfigMap(name: string, values: string): string {
  return [
    "apiVersion: v1",
    "kind: ConfigMap",
    "metadata:",
    `  name: ${name}`,
    "  namespace: ory",
    "data:",
    "  values.yaml: |",
    indent(values, 4),
    "",
  ].join("\n");
}

/** Edits that make the hydra base release read values from ConfigMap `name`. */
function hydraValuesFrom(name: string, extra = ""): Edit[] {
  return [
    {
      file: "apps/hydra/kustomization.yaml",
      from: "  - helmrelease.yaml\n",
      to: `  - helmrelease.yaml\n  - ${name}.yaml\n`,
    },
    {
      file: "apps/hydra/helmrelease.yaml",
      from: "  values:\n    # The hydra-maester",
      to: `  valuesFrom:\n    - kind: ConfigMap\n      name: ${name}${extra}\n  values:\n    # The hydra-maester`,
    },
  ];
}

const SOPS_PARTLY_PLAIN = `apiVersion: v1
kind: Secret
metadata:
  name: smtp
  namespace: ory
stringData:
  user: ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]
  password: sops-left-this-plain
sops:
  lastmodified: "2026-01-01T00:00:00Z"
  mac: ENC[AES256_GCM,data:xyz,type:str]
  version: 3.9.0
`;

const ADMIN_INGRESS = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: hydra-admin
  namespace: ory
spec:
  ingressClassName: alb
  rules:
    - host: admin.production.ory.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: hydra-admin
                port:
                  number: 4445
`;

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
    files: { "apps/ory-charts/plain-secret.yaml": PLAIN_SECRET },
    edits: [
      {
        file: "apps/ory-charts/kustomization.yaml",
        from: "resources:\n",
        to: "resources:\n  - plain-secret.yaml\n",
      },
    ],
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
    // The overlay's list item, not the base release that has no cipher.
    at: { file: "environments/dev/ory/mutation.yaml", line: 12 },
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
  {
    name: "CockroachDB chart older than its extra SANs",
    edits: [
      {
        file: "environments/dev/crdb/versions.yaml",
        from: "version: 21.0.0",
        to: "version: 20.0.4",
      },
    ],
    rules: ["crdb-chart"],
    at: { file: "environments/dev/crdb/versions.yaml", line: 14 },
    environment: "dev",
  },
  {
    name: "CockroachDB chart pinned by a range",
    edits: [
      {
        file: "environments/dev/crdb/versions.yaml",
        from: "version: 21.0.0",
        to: 'version: ">=11.0.0"',
      },
    ],
    rules: [],
    environment: "dev",
  },
  {
    name: "Ory chart given as a path",
    edits: [
      {
        file: "apps/keto/helmrelease.yaml",
        from: "chart: keto",
        to: "chart: ./helm/charts/keto",
      },
    ],
    patch: {
      environment: "staging",
      release: "keto",
      values: "keto:\n  config:\n    dsn: memory",
    },
    rules: ["keto-memory-dsn"],
    environment: "staging",
  },
  {
    name: "password with @ in a DSN",
    patch: {
      environment: "dev",
      release: "hydra",
      values:
        "hydra:\n  config:\n    dsn: cockroach://hydra:p@ssS3cret@cockroachdb.dev.ory.example.com:26257/hydra",
    },
    rules: ["ory-plaintext-credential"],
    at: { file: "environments/dev/ory/mutation.yaml", line: 10 },
    environment: "dev",
    secrets: ["ssS3cret"],
  },
  {
    name: "password with a slash in a DSN",
    patch: {
      environment: "dev",
      release: "hydra",
      values:
        "hydra:\n  config:\n    dsn: cockroach://hydra:pa/ss-s3cret@cockroachdb.dev.ory.example.com:26257/hydra",
    },
    rules: ["ory-plaintext-credential"],
    environment: "dev",
    secrets: ["ss-s3cret"],
  },
  {
    name: "password query parameter in a postgres DSN",
    patch: {
      environment: "dev",
      release: "hydra",
      values:
        "hydra:\n  config:\n    dsn: postgres://hydra@cockroachdb.dev.ory.example.com:26257/hydra?sslmode=verify-full&password=qu3ry-s3cret",
    },
    rules: ["ory-dsn-scheme", "ory-plaintext-credential"],
    environment: "dev",
    secrets: ["qu3ry-s3cret"],
  },
  {
    name: "URL with a password in a ConfigMap",
    files: {
      "apps/ory-charts/app-settings.yaml": [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: app-settings",
        "  namespace: ory",
        "data:",
        "  DATABASE_URL: postgres://app:cm-s3cret@db.example.com:5432/app",
        "",
      ].join("\n"),
    },
    edits: [
      {
        file: "apps/ory-charts/kustomization.yaml",
        from: "resources:\n",
        to: "resources:\n  - app-settings.yaml\n",
      },
    ],
    rules: ["ory-plaintext-credential"],
    at: { file: "apps/ory-charts/app-settings.yaml", line: 7 },
    environment: "dev",
    secrets: ["cm-s3cret"],
  },
  {
    name: "DSN with a password from valuesFrom",
    files: {
      "apps/hydra/hydra-values.yaml": valuesConfigMap(
        "hydra-values",
        "hydra:\n  config:\n    dsn: cockroach://hydra:vf-s3cret@cockroachdb.dev.ory.example.com:26257/hydra",
      ),
    },
    edits: hydraValuesFrom("hydra-values"),
    rules: ["ory-plaintext-credential"],
    at: { file: "apps/hydra/hydra-values.yaml", line: 10 },
    environment: "dev",
    secrets: ["vf-s3cret"],
  },
  {
    name: "short system secret from valuesFrom",
    files: {
      "apps/hydra/hydra-values.yaml": valuesConfigMap(
        "hydra-values",
        "hydra:\n  config:\n    secrets:\n      system:\n        - tooshort",
      ),
    },
    edits: hydraValuesFrom("hydra-values"),
    rules: ["hydra-system-secret", "ory-plaintext-credential"],
    // The list item in the ConfigMap's values.yaml block.
    at: { file: "apps/hydra/hydra-values.yaml", line: 12 },
    environment: "dev",
  },
  {
    name: "secret environment variable with a literal value",
    patch: {
      environment: "dev",
      release: "kratos",
      values:
        "deployment:\n  extraEnv:\n    - name: SECRETS_COOKIE\n      value: cookie-s3cret-value-0123456789",
    },
    rules: ["ory-plaintext-credential"],
    at: { file: "environments/dev/ory/mutation.yaml", line: 11 },
    environment: "dev",
    secrets: ["cookie-s3cret-value"],
  },
  {
    name: "SMTP URI with a password in job extraEnv",
    patch: {
      environment: "dev",
      release: "kratos",
      values:
        "job:\n  extraEnv:\n    - name: COURIER_SMTP_CONNECTION_URI\n      value: smtps://mailer:smtp-s3cret@smtp.example.com:465/",
    },
    rules: ["ory-plaintext-credential"],
    environment: "dev",
    secrets: ["smtp-s3cret"],
  },
  {
    name: "plaintext Secret file no kustomization lists",
    files: { "environments/dev/ory/stray-secret.yaml": PLAIN_SECRET },
    rules: ["ory-plaintext-credential"],
    at: { file: "environments/dev/ory/stray-secret.yaml" },
    environment: "dev",
  },
  {
    name: "SOPS Secret with a value left plain",
    files: { "environments/dev/ory/smtp-secret.yaml": SOPS_PARTLY_PLAIN },
    rules: ["ory-plaintext-credential"],
    at: { file: "environments/dev/ory/smtp-secret.yaml", line: 8 },
    environment: "dev",
    secrets: ["sops-left-this-plain"],
  },
  {
    name: "system secret given as a string",
    patch: {
      environment: "dev",
      release: "hydra",
      values:
        "hydra:\n  config:\n    secrets:\n      system: Sup3rSecretSystemValue-0123",
    },
    rules: ["ory-plaintext-credential", "ory-values-schema"],
    environment: "dev",
    secrets: ["Sup3rSecretSystemValue"],
  },
  {
    name: "admin API on a NodePort in production",
    patch: {
      environment: "production",
      release: "hydra",
      values: "service:\n  admin:\n    type: NodePort",
    },
    rules: ["ory-admin-exposure"],
    environment: "production",
  },
  {
    name: "load balancer with an unrelated internal annotation",
    patch: {
      environment: "production",
      release: "hydra",
      values:
        "service:\n  admin:\n    type: LoadBalancer\n    annotations:\n      example.com/network: internal",
    },
    rules: ["ory-admin-exposure"],
    environment: "production",
  },
  {
    name: "load balancer with the legacy internal annotation",
    patch: {
      environment: "production",
      release: "hydra",
      values:
        'service:\n  admin:\n    type: LoadBalancer\n    annotations:\n      service.beta.kubernetes.io/aws-load-balancer-internal: "true"',
    },
    rules: [],
    environment: "production",
  },
  {
    name: "Ingress object routing to the admin Service",
    files: { "environments/production/ory/admin-ingress.yaml": ADMIN_INGRESS },
    edits: [
      {
        file: "environments/production/ory/kustomization.yaml",
        from: "  - ../../../apps/keto\n",
        to: "  - ../../../apps/keto\n  - admin-ingress.yaml\n",
      },
    ],
    rules: ["ory-admin-exposure"],
    at: { file: "environments/production/ory/admin-ingress.yaml", line: 14 },
    environment: "production",
  },
  {
    name: "Keto on SQLite outside dev",
    patch: {
      environment: "staging",
      release: "keto",
      values:
        "keto:\n  config:\n    dsn: sqlite:///var/lib/sqlite/keto.sqlite?_fk=true",
    },
    rules: ["keto-memory-dsn"],
    environment: "staging",
  },
  {
    name: "Keto on in-memory SQLite outside dev",
    patch: {
      environment: "staging",
      release: "keto",
      values: "keto:\n  config:\n    dsn: sqlite://file::memory:?_fk=true",
    },
    rules: ["keto-memory-dsn"],
    environment: "staging",
  },
  {
    name: "Keto on SQLite in dev",
    patch: {
      environment: "dev",
      release: "keto",
      values:
        "keto:\n  config:\n    dsn: sqlite:///var/lib/sqlite/keto.sqlite?_fk=true",
    },
    rules: [],
    environment: "dev",
  },
  {
    name: "CockroachDB SANs from valuesFrom",
    files: {
      "apps/cockroachdb/crdb-values.yaml": valuesConfigMap(
        "crdb-values",
        "tls:\n  certs:\n    selfSigner:\n      additionalSANs:\n        - cockroachdb.production.ory.example.com",
      ).replace("namespace: ory", "namespace: cockroachdb"),
    },
    edits: [
      {
        file: "apps/cockroachdb/kustomization.yaml",
        from: "  - helmrelease.yaml\n",
        to: "  - helmrelease.yaml\n  - crdb-values.yaml\n",
      },
      {
        file: "apps/cockroachdb/helmrelease.yaml",
        from: "  values:\n",
        to: "  valuesFrom:\n    - kind: ConfigMap\n      name: crdb-values\n  values:\n",
      },
      {
        file: "environments/production/crdb/values.yaml",
        from: "additionalSANs:\n            - cockroachdb.production.ory.example.com",
        to: "enabled: true",
      },
    ],
    rules: [],
    environment: "production",
  },
  {
    name: "targetPath value typed as helm --set types it",
    files: {
      "apps/hydra/hydra-replicas.yaml": [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: hydra-replicas",
        "  namespace: ory",
        "data:",
        '  replicas: "3"',
        "",
      ].join("\n"),
    },
    edits: [
      ...hydraValuesFrom(
        "hydra-replicas",
        "\n      valuesKey: replicas\n      targetPath: replicaCount",
      ),
      {
        file: "environments/production/ory/values.yaml",
        from: "    replicaCount: 3\n",
        to: "",
      },
    ],
    rules: [],
    environment: "production",
  },
  {
    name: "targetPath value kept a string by literal",
    files: {
      "apps/hydra/hydra-replicas.yaml": [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: hydra-replicas",
        "  namespace: ory",
        "data:",
        '  replicas: "3"',
        "",
      ].join("\n"),
    },
    edits: [
      ...hydraValuesFrom(
        "hydra-replicas",
        "\n      valuesKey: replicas\n      targetPath: replicaCount\n      literal: true",
      ),
      {
        file: "environments/production/ory/values.yaml",
        from: "    replicaCount: 3\n",
        to: "",
      },
    ],
    rules: ["ory-replicas", "ory-values-schema"],
    environment: "production",
  },
  {
    name: "identity schema of draft 2020-12",
    edits: [
      {
        file: "apps/kratos/identity.schema.json",
        from: '"$schema": "http://json-schema.org/draft-07/schema#"',
        to: '"$schema": "https://json-schema.org/draft/2020-12/schema"',
      },
    ],
    rules: [],
    environment: "dev",
  },
  {
    name: "identity schema of a draft Ajv lacks",
    edits: [
      {
        file: "apps/kratos/identity.schema.json",
        from: '"$schema": "http://json-schema.org/draft-07/schema#"',
        to: '"$schema": "http://json-schema.org/draft-04/schema#"',
      },
    ],
    rules: ["kratos-identity-schema"],
    environment: "dev",
  },
  {
    name: "production release ahead of a staging pre-release",
    edits: [
      {
        file: "environments/staging/ory/versions.yaml",
        from: "tag: v26.2.0",
        to: "tag: v26.2.0-rc.1",
      },
    ],
    rules: ["ory-promotion-order"],
    at: { file: "environments/production/ory/versions.yaml" },
  },
  {
    name: "production ahead of staging by a digest-pinned tag",
    edits: [
      {
        file: "environments/production/ory/versions.yaml",
        from: "tag: v26.2.0",
        to: `tag: v26.3.0@sha256:${DIGEST}`,
      },
    ],
    rules: ["ory-promotion-order"],
    at: { file: "environments/production/ory/versions.yaml" },
  },
  {
    name: "branch image tag in staging",
    edits: [
      {
        file: "environments/staging/ory/versions.yaml",
        from: "tag: v26.2.0",
        to: "tag: main",
      },
    ],
    rules: ["ory-image-pinned"],
    at: { file: "environments/staging/ory/versions.yaml" },
  },
  {
    name: "top-level autoscaling below three replicas",
    patch: {
      environment: "production",
      release: "keto",
      values: "autoscaling:\n  enabled: true\n  minReplicas: 1",
    },
    rules: ["ory-replicas"],
    at: { file: "environments/production/ory/mutation.yaml" },
    environment: "production",
  },
  {
    name: "promotion from production back to dev",
    edits: [
      {
        file: "environments/production/environment.yaml",
        from: "promotesTo: null",
        to: "promotesTo: dev",
      },
    ],
    rules: ["environment-promotion-cycle"],
    at: { file: "environments/production/environment.yaml", line: 5 },
  },
  {
    name: "environment promoting to itself",
    edits: [
      {
        file: "environments/staging/environment.yaml",
        from: "promotesTo: production",
        to: "promotesTo: staging",
      },
    ],
    rules: ["environment-promotion-cycle"],
    at: { file: "environments/staging/environment.yaml", line: 5 },
  },
];

describe("Ory and CockroachDB rules on this repository", () => {
  let pristine: string;

  beforeAll(async () => {
    pristine = await mkdtemp(path.join(os.tmpdir(), "ory-rules-pristine-"));
    for (const folder of ["apps", "clusters", "environments"]) {
      await cp(path.join(REPO_ROOT, folder), path.join(pristine, folder), {
        recursive: true,
      });
    }
  });

  afterAll(async () => {
    await removeTree(pristine);
  });

  for (const testCase of CASES) {
    it(`reports ${testCase.name}`, async () => {
      const root = await mkdtemp(path.join(os.tmpdir(), "ory-rules-"));
      try {
        await cp(pristine, root, { recursive: true });
        for (const [file, content] of Object.entries(testCase.files ?? {})) {
          await writeFile(path.join(root, file), content);
        }
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
        const secrets = [
          "hunter2-secret",
          "not-a-real-password",
          ...(testCase.secrets ?? []),
        ];
        for (const finding of result.findings) {
          for (const secret of secrets) {
            expect(finding.message).not.toContain(secret);
          }
        }
      } finally {
        await removeTree(root);
      }
    });
  }
});
