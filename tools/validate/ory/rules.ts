import { registerRules } from "../rules.js";

const DATABASE = "Ory: database and credentials";
const SERVICES = "Ory: Hydra, Kratos and Keto";
const POLICY = "Ory: operations, staging and production";
const COCKROACH = "CockroachDB";

registerRules([
  {
    id: "ory-values-schema",
    severity: "error",
    group: SERVICES,
    checks:
      "The merged values of each Ory release (base, overlay patches, valuesFrom) match this project's schema of the Ory chart 0.62.x values and the Ory v26.2 configuration: known keys, right types.",
    why: "The charts ship no values schema, so a misspelt key is silently ignored and the chart default applies instead, often without any error on the cluster.",
    fix: "Correct the key or the type; the message suggests the nearest known key.",
  },
  {
    id: "ory-dsn-deployment",
    severity: "error",
    group: DATABASE,
    checks:
      "The Deployment gets a DSN: from the chart's config with its own Secret, from `secret.enabled: false` and `secret.nameOverride` naming a Secret that holds `dsn`, or from a DSN variable in `deployment.extraEnv`.",
    why: "Without a DSN the service starts with no database (Keto falls back to memory) or crash-loops.",
    fix: "Set secret.enabled: false with secret.nameOverride naming the service's Secret, which bootstrap databases creates and the environment model declares.",
  },
  {
    id: "ory-dsn-job",
    severity: "error",
    group: DATABASE,
    checks:
      "The migration Job gets a DSN the same way; `job.extraEnv`, when set, replaces `deployment.extraEnv` for the Job.",
    why: "A Job without a DSN migrates nothing (or an in-memory database), and the new version then starts on an old schema.",
    fix: "Give the Job the DSN through the chart's Secret, or add DSN to job.extraEnv.",
  },
  {
    id: "ory-secret-keys",
    severity: "error",
    group: DATABASE,
    checks:
      "The Secret an Ory chart reads holds the keys it references without `optional`: Hydra `secretsSystem` and `secretsCookie`; Kratos `secretsDefault`, `secretsCookie` and `secretsCipher`.",
    why: "A missing key leaves the pods in CreateContainerConfigError.",
    fix: "Add the keys to the Secret and its declaration; bootstrap databases generates them once.",
  },
  {
    id: "ory-secret-unknown-key",
    severity: "error",
    group: DATABASE,
    checks:
      "A Secret an Ory chart reads has no key that is a near miss of a key the chart reads.",
    why: "A misspelt key is never read; the chart falls back to a default or fails, with no hint why.",
    fix: "Rename the key to the one the message names.",
  },
  {
    id: "ory-plaintext-credential",
    severity: "error",
    group: DATABASE,
    checks:
      "No credential is in git in plain text. No object or release values hold a URL with a password (`scheme://user:password@host` or `password=`), no environment variable named like a secret has a literal value, and no Ory secret is in values. Every Secret file has its data encrypted, also each value of a SOPS-encrypted Secret.",
    why: "Everyone with read access to the repository, its forks and its CI logs gets the credential.",
    fix: "Keep credentials in Secrets created outside git (declared in the environment model) or encrypted with SOPS.",
  },
  {
    id: "ory-dsn-scheme",
    severity: "error",
    group: DATABASE,
    checks:
      "A DSN written in git uses `cockroach://` when the database is CockroachDB.",
    why: "With `postgres://` Ory runs the PostgreSQL migrations and loses the transaction retries CockroachDB needs.",
    fix: "Start the DSN with cockroach://.",
  },
  {
    id: "ory-dsn-database",
    severity: "error",
    group: DATABASE,
    checks:
      "A DSN written in git names the service's own database from the environment model.",
    why: "Two services in one database mix their migrations and tables, and one service's user can read the other's data.",
    fix: "Use the database named in databases.<service>.database.",
  },
  {
    id: "ory-dsn-pool",
    severity: "error",
    group: DATABASE,
    checks:
      "The pool parameters of a DSN written in git parse: `max_conns` and `max_idle_conns` whole numbers, `max_conn_lifetime` a Go duration.",
    why: "Ory fails to start on a pool parameter it cannot parse.",
    fix: "Write, e.g., max_conns=20&max_idle_conns=4&max_conn_lifetime=5m.",
  },
  {
    id: "keto-memory-dsn",
    severity: "error",
    group: DATABASE,
    checks:
      "Keto uses an in-memory DSN (`memory`, in-memory SQLite) or any `sqlite://` DSN only in the dev tier.",
    why: "An in-memory Keto loses every relation tuple on restart, and SQLite keeps the tuples on one pod's disk, so each replica answers differently.",
    fix: "Remove keto.config.dsn so the DSN comes from the keto Secret.",
  },
  {
    id: "crdb-tls",
    severity: "error",
    group: DATABASE,
    checks:
      "Outside dev, the environment model's CockroachDB settings use TLS `verify-full` with a CA Secret and path.",
    why: "Without verify-full anything on the network path can read or change identity data and credentials.",
    fix: "Set cockroachdb.tls.mode: verify-full with caSecret and caPath.",
  },
  {
    id: "crdb-host-shared",
    severity: "error",
    group: DATABASE,
    checks: "No two environments use the same CockroachDB host.",
    why: "A test in one environment writes into another's data.",
    fix: "Give each environment its own CockroachDB cluster and DNS name.",
  },
  {
    id: "hydra-issuer",
    severity: "error",
    group: SERVICES,
    checks:
      "Hydra's `urls.self.issuer` is set, and https unless Hydra runs in dev mode.",
    why: "Hydra refuses to start without an issuer, and rejects a plain http one outside dev mode.",
    fix: "Set hydra.config.urls.self.issuer to Hydra's public https URL.",
  },
  {
    id: "hydra-system-secret",
    severity: "error",
    group: SERVICES,
    checks:
      "Each Hydra system secret is at least 16 characters and comes from a stable Secret, not one the chart generates on install.",
    why: "A system secret that changes invalidates every issued token and encrypted record; a short one is rejected.",
    fix: "Set secret.enabled: false and read secretsSystem from the Secret bootstrap databases created once.",
  },
  {
    id: "ory-dev-mode",
    severity: "error",
    group: SERVICES,
    checks:
      "Hydra's `dev` and Kratos's `development` modes are on only in the dev tier.",
    why: "Development mode accepts plain http issuers and insecure cookies.",
    fix: "Set them to false outside dev.",
  },
  {
    id: "kratos-identity-schema",
    severity: "error",
    group: SERVICES,
    checks:
      "Kratos has at least one identity schema; `default_schema_id` names one; each schema file is in the repository (through `kratos.identitySchemas`), is valid JSON Schema, and marks the email trait as the password identifier. A schema is checked against its `$schema` draft: draft-07 by default, or 2019-09 or 2020-12.",
    why: "Kratos refuses to start without a valid default schema; a schema fetched at run time changes without review; without the identifier nobody can log in with a password.",
    fix: "Keep the schema as a file, load it into kratos.identitySchemas, and mark traits.email with credentials.password.identifier.",
  },
  {
    id: "kratos-return-url",
    severity: "error",
    group: SERVICES,
    checks: "Kratos `selfservice.default_browser_return_url` is set.",
    why: "Kratos refuses to start without it.",
    fix: "Set it to the page users return to after a browser flow.",
  },
  {
    id: "kratos-cipher-length",
    severity: "error",
    group: SERVICES,
    checks:
      "Every Kratos `secrets.cipher` item written in values is exactly 32 characters.",
    why: "Kratos's ciphers need a 32-byte key and fail to encrypt with any other length.",
    fix: "Use a random secret of exactly 32 characters, kept in the kratos Secret.",
  },
  {
    id: "keto-namespaces",
    severity: "error",
    group: SERVICES,
    checks:
      "Keto namespace names and ids are unique; every environment declares the same namespaces; the namespaces the smoke tests use exist.",
    why: "Keto stores tuples under the namespace name, so a namespace missing after a promotion strands that environment's tuples, and checks against an unknown namespace just answer denied.",
    fix: "Declare the same namespaces, once each, in every environment.",
  },
  {
    id: "ory-endpoint-service",
    severity: "error",
    group: POLICY,
    checks:
      "Each Ory endpoint in the environment model names the Service and port the chart creates (from the release name and the service values).",
    why: "Smoke tests, port-forwards and clients would dial a Service that does not exist.",
    fix: "Make ory.endpoints and the release's service values agree.",
  },
  {
    id: "ory-automigration",
    severity: "error",
    group: POLICY,
    checks: "Each Ory release has `automigration.enabled: true`.",
    why: "Without it an upgrade runs the new version against the old schema.",
    fix: "Set <service>.automigration.enabled: true with type: job.",
  },
  {
    id: "ory-migration-retries",
    severity: "error",
    group: POLICY,
    checks: "The migration Job's `backoffLimit` is above 0.",
    why: "CockroachDB runs in another cluster, where Flux's dependsOn cannot see it, so only the Job's retries cover a database that is not up yet.",
    fix: "Set job.spec.backoffLimit to 5 or more.",
  },
  {
    id: "ory-migration-order",
    severity: "error",
    group: POLICY,
    checks:
      "When a Flux Kustomization delivers an Ory release's database Secret or the CockroachDB CA, the release's Kustomization depends on it.",
    why: "Otherwise the migration Job can start before its Secret exists and fail.",
    fix: "Add that Kustomization to dependsOn.",
  },
  {
    id: "ory-image-pinned",
    severity: "error",
    group: POLICY,
    checks:
      "In staging and production each Ory image has a version tag (`v26.2`, `v26.2.0`, `v26.2.0-rc.1`) or a sha256 digest, never a branch or channel tag such as `latest` or `main`, nor the chart default.",
    why: "What runs could change without a commit, and a rollback has nothing to return to.",
    fix: "Set image.tag in the environment's versions.yaml.",
  },
  {
    id: "ory-chart-version-exact",
    severity: "error",
    group: POLICY,
    checks:
      "In staging and production each Ory chart version is one exact version, not a range: `spec.chart.spec.version`, or the `chartRef` OCIRepository's `ref.tag` (or digest) or HelmChart's `version`.",
    why: "helm-controller upgrades by itself whenever a newer matching chart appears.",
    fix: "Pin spec.chart.spec.version (or the chartRef source's version), e.g. 0.62.1.",
  },
  {
    id: "ory-replicas",
    severity: "error",
    group: POLICY,
    checks:
      "In staging and production each Ory service runs at least three replicas: `replicaCount`, or `minReplicas` when `deployment.autoscaling` or the top-level `autoscaling` is enabled.",
    why: "With fewer, one zone or node failure takes the service down.",
    fix: "Set replicaCount: 3, or minReplicas: 3 with autoscaling.",
  },
  {
    id: "ory-zone-spread",
    severity: "error",
    group: POLICY,
    checks:
      "In staging and production each Ory Deployment spreads over `topology.kubernetes.io/zone`.",
    why: "Without it all replicas may land in one zone.",
    fix: "Add deployment.topologySpreadConstraints on the zone key.",
  },
  {
    id: "ory-pdb",
    severity: "error",
    group: POLICY,
    checks:
      "In staging and production each Ory release has a PodDisruptionBudget.",
    why: "A node drain may otherwise evict every replica at once.",
    fix: "Set pdb.enabled: true with minAvailable: 2.",
  },
  {
    id: "ory-resources",
    severity: "error",
    group: POLICY,
    checks:
      "In staging and production each Ory Deployment requests cpu and memory.",
    why: "Without requests the scheduler can pack pods onto a full node, and they are evicted first.",
    fix: "Set deployment.resources.requests.cpu and .memory.",
  },
  {
    id: "ory-admin-exposure",
    severity: "error",
    group: POLICY,
    checks:
      'In staging and production Hydra and Kratos admin and Keto read and write APIs are on no Ingress, no NodePort and no internet-facing load balancer. This covers the chart\'s Ingress and any Ingress object routing to their Service. A load balancer is internal only with `service.beta.kubernetes.io/aws-load-balancer-scheme: internal` or `service.beta.kubernetes.io/aws-load-balancer-internal: "true"`.',
    why: "Anyone who reaches them can create OAuth2 clients and identities or grant any permission.",
    fix: "Keep them ClusterIP and reach them by port-forward or from inside the network.",
  },
  {
    id: "ory-promotion-order",
    severity: "error",
    group: POLICY,
    checks:
      "No environment runs a chart or image version newer than the environment that promotes to it.",
    why: "A version in production that staging never ran skipped its tests.",
    fix: "Bump the earlier environment first and promote.",
  },
  {
    id: "environment-promotion-cycle",
    severity: "error",
    group: POLICY,
    checks:
      "The `promotesTo` chain of the environment models has no loop, such as production promoting to dev or staging to itself.",
    why: "Promotion then never reaches a last environment, and a version would be promoted back into the environment that tested it first.",
    fix: "Point promotesTo at the next environment in the order, and set it to null in the last one.",
  },
  {
    id: "crdb-chart",
    severity: "error",
    group: COCKROACH,
    checks:
      "In staging and production the CockroachDB release has 3 replicas, TLS, a budget of maxUnavailable 1, a zone topology spread given as the one object the chart reads, a region-level `conf.locality`, and the stable DNS name among the node certificate's extra SANs. In every tier, a release with extra SANs pins chart 20.0.5 or later, the first to read them. Its values are read merged: valuesFrom first, spec.values on top.",
    why: "Each of these keeps one replica per zone and quorum through a drain, or lets verify-full connections through the load balancer succeed.",
    fix: "Set the value the message names in the environment's crdb overlay.",
  },
]);
