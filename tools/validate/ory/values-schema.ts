/**
 * Structural schemas for the Helm values of the official Ory charts (hydra,
 * kratos and keto from ory/k8s, chart 0.62.x with Ory v26.2).
 *
 * Chart keys come from the helm-docs value tables of chart 0.60.1
 * (helm/charts/<chart>/README.md at ory/k8s 0ba60c3e), plus the keys that
 * the chart templates read. NOTE: a key that chart 0.61 or 0.62 added is
 * missing here and would be reported as unknown.
 *
 * Keys under `<service>.config` come from the Ory configuration JSON schemas:
 * hydra spec/config.json (ory/hydra b6ac8945) with oryx/configx serve, cors
 * and tls (ory/hydra 2d28980d), kratos embedx/config.schema.json (ory/kratos
 * 00cf11c0) and keto embedx/config.schema.json (ory/keto 31716915).
 *
 * An object lists its keys, so an unknown key is a finding, wherever the
 * chart's templates read named keys. Objects that the chart copies verbatim
 * into a manifest (Kubernetes specs, extra manifests) or that Ory reads below
 * the levels modelled here preserve unknown fields.
 */
import type { OryService } from "../../lib/environment.js";
import type { StructuralSchema } from "../structural-schema.js";

// ---------------------------------------------------------------------------
// Small builders

function strict(
  properties: Record<string, StructuralSchema>,
): StructuralSchema {
  return { type: "object", properties };
}

function ref(name: string): StructuralSchema {
  return { $ref: name };
}

function listOf(items: StructuralSchema): StructuralSchema {
  return { type: "array", items };
}

function oneOfStrings(...values: string[]): StructuralSchema {
  return { type: "string", enum: values };
}

const STRING: StructuralSchema = { type: "string" };
const BOOLEAN: StructuralSchema = { type: "boolean" };
const COUNT: StructuralSchema = { type: "integer", minimum: 0 };
const STRINGS = listOf(STRING);
const INT_OR_STRING: StructuralSchema = { "x-kubernetes-int-or-string": true };

/** An object whose keys neither the chart nor Ory names: any content passes. */
const FREE_FORM: StructuralSchema = {
  type: "object",
  "x-kubernetes-preserve-unknown-fields": true,
};

/** Labels and annotations: Kubernetes takes string values only. */
const STRING_MAP: StructuralSchema = {
  type: "object",
  additionalProperties: STRING,
};

/**
 * A TCP port. Ory's schemas allow 1-65535 (keto also 0, for "pick any"), but
 * the charts use the port as a containerPort, which must be 1-65535.
 */
const PORT: StructuralSchema = { type: "integer", minimum: 1, maximum: 65535 };

// ---------------------------------------------------------------------------
// Kubernetes-shaped values, checked against the built-in definitions

const ENV = listOf(ref("V1EnvVar"));
const VOLUMES = listOf(ref("V1Volume"));
const VOLUME_MOUNTS = listOf(ref("V1VolumeMount"));
const RESOURCES = ref("V1ResourceRequirements");
const TOLERATIONS = listOf(ref("V1Toleration"));
const AFFINITY = ref("V1Affinity");
const SPREAD = listOf(ref("V1TopologySpreadConstraint"));
const PROBE = ref("V1Probe");
const POD_SECURITY = ref("V1PodSecurityContext");
const CONTAINER_SECURITY = ref("V1SecurityContext");
const DNS_CONFIG = ref("V1PodDNSConfig");
const STRATEGY = ref("V1DeploymentStrategy");
const LIFECYCLE = ref("V1Lifecycle");
const PULL_SECRETS = listOf(ref("V1LocalObjectReference"));

/**
 * extraContainers and extraInitContainers: the templates pass a string
 * through `tpl`. Some charts document a list or `{}` as the default, so an
 * empty mapping and a list of containers are accepted too.
 */
const TEMPLATED_CONTAINERS: StructuralSchema = {
  anyOf: [
    STRING,
    listOf(ref("V1Container")),
    { type: "object", additionalProperties: false },
  ],
};

/** job.lifecycle: a string for the template's `tpl`, or a mapping. */
const TEMPLATED_LIFECYCLE: StructuralSchema = { anyOf: [STRING, LIFECYCLE] };

/**
 * autoscaling.targetCPU and targetMemory: a HorizontalPodAutoscaler metric
 * target, whose `type` the chart default `{}` leaves out.
 */
const METRIC_TARGET = strict({
  type: oneOfStrings("Utilization", "Value", "AverageValue"),
  averageUtilization: { type: "integer", minimum: 1 },
  averageValue: INT_OR_STRING,
  value: INT_OR_STRING,
});

// ---------------------------------------------------------------------------
// Chart values that the three charts share

const IMAGE = strict({
  repository: STRING,
  tag: STRING,
  pullPolicy: oneOfStrings("Always", "IfNotPresent", "Never"),
});

const POD_METADATA = strict({ labels: STRING_MAP, annotations: STRING_MAP });

const SERVICE_ACCOUNT = strict({
  create: BOOLEAN,
  name: STRING,
  annotations: STRING_MAP,
  automountServiceAccountToken: BOOLEAN,
});

const SECRET = strict({
  enabled: BOOLEAN,
  nameOverride: STRING,
  secretAnnotations: STRING_MAP,
  enableDefaultAnnotations: BOOLEAN,
  extraAnnotations: STRING_MAP,
  hashSumEnabled: BOOLEAN,
});

const AUTOSCALING = strict({
  enabled: BOOLEAN,
  minReplicas: COUNT,
  maxReplicas: { type: "integer", minimum: 1 },
  targetCPU: METRIC_TARGET,
  targetMemory: METRIC_TARGET,
  // Older charts took plain percentages.
  targetCPUUtilizationPercentage: { type: "integer", minimum: 1 },
  targetMemoryUtilizationPercentage: { type: "integer", minimum: 1 },
  behavior: ref("V2HorizontalPodAutoscalerBehavior"),
  extraMetrics: listOf(ref("V2MetricSpec")),
});

const PDB = strict({
  enabled: BOOLEAN,
  spec: strict({ minAvailable: INT_OR_STRING, maxUnavailable: INT_OR_STRING }),
});

const SERVICE_MONITOR_PROPERTIES: Record<string, StructuralSchema> = {
  scheme: oneOfStrings("http", "https"),
  scrapeInterval: STRING,
  scrapeTimeout: STRING,
  labels: STRING_MAP,
  tlsConfig: FREE_FORM,
  relabelings: listOf(FREE_FORM),
  metricRelabelings: listOf(FREE_FORM),
};

const TRAFFIC_POLICY = oneOfStrings("", "Cluster", "Local");

/** The keys every chart's Service template reads for service.<name>. */
const SERVICE_PROPERTIES: Record<string, StructuralSchema> = {
  enabled: BOOLEAN,
  type: oneOfStrings("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"),
  port: PORT,
  name: STRING,
  annotations: STRING_MAP,
  loadBalancerIP: STRING,
  nodePort: INT_OR_STRING,
  externalTrafficPolicy: TRAFFIC_POLICY,
  internalTrafficPolicy: TRAFFIC_POLICY,
};

const INGRESS = strict({
  enabled: BOOLEAN,
  className: STRING,
  annotations: STRING_MAP,
  hosts: listOf(
    strict({
      host: STRING,
      paths: listOf(
        strict({
          path: STRING,
          pathType: oneOfStrings("Exact", "Prefix", "ImplementationSpecific"),
        }),
      ),
    }),
  ),
  tls: listOf(ref("V1IngressTLS")),
});

/**
 * httproute.<name>: Gateway API routes, in the newest templates
 * (hydra templates/httproute-public.yaml, keto templates/httproute-read.yaml).
 */
const HTTP_ROUTE = strict({
  enabled: BOOLEAN,
  apiVersion: STRING,
  nameOverride: STRING,
  labels: STRING_MAP,
  annotations: STRING_MAP,
  parentRefs: listOf(FREE_FORM),
  hostnames: STRINGS,
  rules: listOf(FREE_FORM),
  matches: listOf(FREE_FORM),
  filters: listOf(FREE_FORM),
  servicePort: PORT,
  weight: COUNT,
});

function httpRoutes(...names: string[]): StructuralSchema {
  return strict(Object.fromEntries(names.map((name) => [name, HTTP_ROUTE])));
}

const WATCHER_PROPERTIES: Record<string, StructuralSchema> = {
  enabled: BOOLEAN,
  image: STRING,
  mountFile: STRING,
  watchLabelKey: STRING,
  revisionHistoryLimit: COUNT,
  podMetadata: POD_METADATA,
  resources: RESOURCES,
  automountServiceAccountToken: BOOLEAN,
};

const TEST_BUSYBOX = strict({ repository: STRING, tag: INT_OR_STRING });

/** <service>.automigration. The templates fail on any other `type`. */
const AUTOMIGRATION = strict({
  enabled: BOOLEAN,
  type: oneOfStrings("job", "initContainer"),
  customCommand: STRINGS,
  customArgs: STRINGS,
  resources: RESOURCES,
});

/** <service>.customMigrations.jobs: named extra migration Jobs. */
const CUSTOM_MIGRATIONS = strict({
  jobs: { type: "object", additionalProperties: FREE_FORM },
});

/** Keys of the migration Job. The hydra chart also reads `labels`. */
const JOB_PROPERTIES: Record<string, StructuralSchema> = {
  annotations: STRING_MAP,
  podMetadata: POD_METADATA,
  extraEnv: ENV,
  extraContainers: TEMPLATED_CONTAINERS,
  extraInitContainers: TEMPLATED_CONTAINERS,
  nodeSelector: STRING_MAP,
  tolerations: TOLERATIONS,
  resources: RESOURCES,
  lifecycle: TEMPLATED_LIFECYCLE,
  automountServiceAccountToken: BOOLEAN,
  shareProcessNamespace: BOOLEAN,
  serviceAccount: SERVICE_ACCOUNT,
  spec: strict({ backoffLimit: COUNT }),
};

/** Keys of `deployment` that all three charts read. */
const DEPLOYMENT_PROPERTIES: Record<string, StructuralSchema> = {
  annotations: STRING_MAP,
  podMetadata: POD_METADATA,
  resources: RESOURCES,
  extraEnv: ENV,
  extraVolumes: VOLUMES,
  extraVolumeMounts: VOLUME_MOUNTS,
  extraContainers: TEMPLATED_CONTAINERS,
  extraInitContainers: TEMPLATED_CONTAINERS,
  nodeSelector: STRING_MAP,
  tolerations: TOLERATIONS,
  topologySpreadConstraints: SPREAD,
  dnsConfig: DNS_CONFIG,
  podSecurityContext: POD_SECURITY,
  automountServiceAccountToken: BOOLEAN,
  terminationGracePeriodSeconds: COUNT,
  revisionHistoryLimit: COUNT,
  lifecycle: LIFECYCLE,
  livenessProbe: PROBE,
  readinessProbe: PROBE,
  startupProbe: PROBE,
  customLivenessProbe: PROBE,
  customReadinessProbe: PROBE,
  customStartupProbe: PROBE,
  automigration: strict({ extraEnv: ENV }),
};

/** Keys at the top of every chart's values. */
const COMMON_TOP_LEVEL: Record<string, StructuralSchema> = {
  replicaCount: COUNT,
  image: IMAGE,
  imagePullSecrets: PULL_SECRETS,
  nameOverride: STRING,
  fullnameOverride: STRING,
  priorityClassName: STRING,
  secret: SECRET,
  pdb: PDB,
  // Helm passes `global` to every subchart, so it may hold anything.
  global: FREE_FORM,
};

// ---------------------------------------------------------------------------
// Ory configuration (<service>.config)

/**
 * Returns a secret list schema. Ory signs or encrypts with the first secret
 * and verifies with all of them.
 */
function secretList(minLength: number, maxLength?: number): StructuralSchema {
  const item: StructuralSchema = { type: "string", minLength };
  if (maxLength !== undefined) item.maxLength = maxLength;
  return listOf(item);
}

function logConfig(levels: string[], formats: string[]): StructuralSchema {
  return strict({
    level: oneOfStrings(...levels),
    format: oneOfStrings(...formats),
    leak_sensitive_values: BOOLEAN,
    redaction_text: STRING,
    additional_redacted_headers: STRINGS,
  });
}

/** Log levels of ory/x logrusx/config.schema.json (ory://logging-config). */
const LOGRUSX_LEVELS = [
  "panic",
  "fatal",
  "error",
  "warn",
  "info",
  "debug",
  "trace",
];

/** Hydra serve.public and serve.admin: configx serve.schema.json with cors. */
const HYDRA_ENDPOINT = strict({
  port: PORT,
  host: STRING,
  base_url: STRING,
  socket: FREE_FORM,
  request_log: FREE_FORM,
  tls: FREE_FORM,
  cors: FREE_FORM,
});

const HYDRA_CONFIG = strict({
  dsn: STRING,
  db: FREE_FORM,
  log: logConfig(LOGRUSX_LEVELS, ["json", "json_pretty", "text"]),
  serve: strict({
    public: HYDRA_ENDPOINT,
    admin: HYDRA_ENDPOINT,
    tls: FREE_FORM,
    cookies: FREE_FORM,
  }),
  clients: FREE_FORM,
  hsm: FREE_FORM,
  webfinger: FREE_FORM,
  oidc: FREE_FORM,
  urls: strict({
    self: strict({ issuer: STRING, public: STRING, admin: STRING }),
    login: STRING,
    registration: STRING,
    consent: STRING,
    logout: STRING,
    device: FREE_FORM,
    error: STRING,
    post_logout_redirect: STRING,
    identity_provider: FREE_FORM,
  }),
  strategies: FREE_FORM,
  ttl: FREE_FORM,
  oauth2: FREE_FORM,
  // Hydra requires at least 16 characters per secret.
  secrets: strict({
    // hydra-system-secret reports a short system secret with its reason.
    system: secretList(1),
    cookie: secretList(16),
    pagination: secretList(16),
  }),
  profiling: oneOfStrings("cpu", "mem"),
  tracing: FREE_FORM,
  sqa: FREE_FORM,
  version: STRING,
  cgroups: FREE_FORM,
  dev: BOOLEAN,
  feature_flags: FREE_FORM,
});

const KRATOS_PUBLIC_ENDPOINT = strict({
  base_url: STRING,
  host: STRING,
  port: PORT,
  cors: FREE_FORM,
  request_log: FREE_FORM,
  socket: FREE_FORM,
  tls: FREE_FORM,
});

const KRATOS_ADMIN_ENDPOINT = strict({
  base_url: STRING,
  host: STRING,
  port: PORT,
  request_log: FREE_FORM,
  socket: FREE_FORM,
  tls: FREE_FORM,
});

function namedObjects(names: string[]): StructuralSchema {
  return strict(Object.fromEntries(names.map((name) => [name, FREE_FORM])));
}

const KRATOS_SELFSERVICE = strict({
  default_browser_return_url: STRING,
  allowed_return_urls: STRINGS,
  flows: namedObjects([
    "settings",
    "logout",
    "registration",
    "login",
    "verification",
    "recovery",
    "error",
  ]),
  // NOTE: the schema version read lists neither passkey nor saml, which are
  // accepted for newer Kratos releases. Any other new method is reported.
  methods: namedObjects([
    "profile",
    "link",
    "code",
    "password",
    "totp",
    "lookup_secret",
    "webauthn",
    "passkey",
    "oidc",
    "saml",
  ]),
});

const KRATOS_COURIER = strict({
  smtp: strict({
    connection_uri: { type: "string", pattern: "^smtps?://" },
    client_cert_path: STRING,
    client_key_path: STRING,
    from_address: STRING,
    from_name: STRING,
    headers: STRING_MAP,
    local_name: STRING,
  }),
  templates: FREE_FORM,
  template_override_path: STRING,
  message_retries: COUNT,
  delivery_strategy: oneOfStrings("smtp", "http"),
  http: FREE_FORM,
  sms: FREE_FORM,
  channels: listOf(FREE_FORM),
  worker: FREE_FORM,
});

const KRATOS_CONFIG = strict({
  dsn: STRING,
  serve: strict({
    public: KRATOS_PUBLIC_ENDPOINT,
    admin: KRATOS_ADMIN_ENDPOINT,
  }),
  selfservice: KRATOS_SELFSERVICE,
  identity: strict({
    default_schema_id: STRING,
    schemas: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        required: ["id", "url"],
        properties: {
          id: STRING,
          url: STRING,
          selfservice_selectable: BOOLEAN,
        },
      },
    },
  }),
  courier: KRATOS_COURIER,
  // Kratos requires cipher secrets of exactly 32 characters, others of 16+.
  secrets: strict({
    default: secretList(16),
    cookie: secretList(16),
    // kratos-cipher-length reports a cipher of the wrong length.
    cipher: secretList(1),
  }),
  log: logConfig(
    ["trace", "debug", "info", "warning", "error", "fatal", "panic"],
    ["json", "text"],
  ),
  database: FREE_FORM,
  oauth2_provider: FREE_FORM,
  preview: FREE_FORM,
  tracing: FREE_FORM,
  hashers: FREE_FORM,
  ciphers: FREE_FORM,
  cookies: FREE_FORM,
  session: FREE_FORM,
  clients: FREE_FORM,
  feature_flags: FREE_FORM,
  organizations: listOf(FREE_FORM),
  // Not in the schema version read (00cf11c0), accepted for newer releases.
  security: FREE_FORM,
  version: STRING,
  dev: BOOLEAN,
  help: BOOLEAN,
  // The next four are CLI flags that the schema also accepts in the file.
  "sqa-opt-out": BOOLEAN,
  "watch-courier": BOOLEAN,
  "expose-metrics-port": { type: "integer", minimum: 0, maximum: 65535 },
  config: STRINGS,
});

const KETO_ENDPOINT = strict({
  port: PORT,
  host: STRING,
  write_listen_file: STRING,
  cors: FREE_FORM,
  tls: FREE_FORM,
});

/**
 * keto.config.namespaces: a URI, a list of {id, name}, or the location of an
 * Ory Permission Language file.
 */
const KETO_NAMESPACES: StructuralSchema = {
  anyOf: [
    STRING,
    listOf({
      type: "object",
      required: ["name"],
      properties: {
        $schema: STRING,
        id: { type: "integer", minimum: 0, maximum: 2147483647 },
        name: STRING,
        config: FREE_FORM,
      },
    }),
    {
      type: "object",
      required: ["location"],
      properties: { location: STRING, experimental_strict_mode: BOOLEAN },
    },
  ],
};

const KETO_CONFIG = strict({
  $schema: STRING,
  dsn: STRING,
  serve: strict({
    read: KETO_ENDPOINT,
    write: KETO_ENDPOINT,
    metrics: KETO_ENDPOINT,
    opl: KETO_ENDPOINT,
  }),
  namespaces: KETO_NAMESPACES,
  log: logConfig(LOGRUSX_LEVELS, ["json", "json_pretty", "gelf", "text"]),
  tracing: FREE_FORM,
  profiling: oneOfStrings("cpu", "mem", ""),
  limit: FREE_FORM,
  clients: FREE_FORM,
  secrets: strict({ pagination: secretList(16) }),
  version: STRING,
});

// ---------------------------------------------------------------------------
// hydra chart

const HYDRA_DEPLOYMENT_PROPERTIES: Record<string, StructuralSchema> = {
  ...DEPLOYMENT_PROPERTIES,
  labels: STRING_MAP,
  securityContext: CONTAINER_SECURITY,
  initContainerSecurityContext: CONTAINER_SECURITY,
  serviceAccount: SERVICE_ACCOUNT,
  strategy: STRATEGY,
  autoscaling: AUTOSCALING,
};

const HYDRA_SERVICE = strict({
  ...SERVICE_PROPERTIES,
  labels: STRING_MAP,
  metricsPath: STRING,
});

const HYDRA_VALUES = strict({
  ...COMMON_TOP_LEVEL,
  // The hydra templates read affinity at the top level, not in deployment.
  affinity: AFFINITY,
  service: strict({ public: HYDRA_SERVICE, admin: HYDRA_SERVICE }),
  ingress: strict({ public: INGRESS, admin: INGRESS }),
  httproute: httpRoutes("public", "admin"),
  hydra: strict({
    dev: BOOLEAN,
    command: STRINGS,
    customArgs: STRINGS,
    automigration: AUTOMIGRATION,
    customMigrations: CUSTOM_MIGRATIONS,
    config: HYDRA_CONFIG,
  }),
  // With separateAdminAndPublicDeploys, deployment.admin and deployment.public
  // override deployment for each Deployment (templates/deployment-public.yaml).
  separateAdminAndPublicDeploys: BOOLEAN,
  deployment: strict({
    ...HYDRA_DEPLOYMENT_PROPERTIES,
    admin: strict(HYDRA_DEPLOYMENT_PROPERTIES),
    public: strict(HYDRA_DEPLOYMENT_PROPERTIES),
  }),
  job: strict({ ...JOB_PROPERTIES, labels: STRING_MAP }),
  janitor: strict({
    enabled: BOOLEAN,
    cleanupGrants: BOOLEAN,
    cleanupRequests: BOOLEAN,
    cleanupTokens: BOOLEAN,
    batchSize: { type: "integer", minimum: 1 },
    limit: { type: "integer", minimum: 1 },
  }),
  cronjob: strict({
    janitor: strict({
      schedule: STRING,
      customCommand: STRINGS,
      customArgs: STRINGS,
      extraEnv: ENV,
      extraContainers: TEMPLATED_CONTAINERS,
      extraInitContainers: TEMPLATED_CONTAINERS,
      extraVolumes: VOLUMES,
      extraVolumeMounts: VOLUME_MOUNTS,
      labels: STRING_MAP,
      annotations: STRING_MAP,
      podMetadata: POD_METADATA,
      nodeSelector: STRING_MAP,
      tolerations: TOLERATIONS,
      affinity: AFFINITY,
      automountServiceAccountToken: BOOLEAN,
      shareProcessNamespace: BOOLEAN,
      serviceAccount: SERVICE_ACCOUNT,
      securityContext: CONTAINER_SECURITY,
      podSecurityContext: POD_SECURITY,
      resources: RESOURCES,
    }),
  }),
  // The hydra-maester subchart, switched on by maester.enabled, validates
  // its own values.
  maester: strict({ enabled: BOOLEAN, hydraFullnameOverride: STRING }),
  "hydra-maester": FREE_FORM,
  serviceMonitor: strict({ ...SERVICE_MONITOR_PROPERTIES, enabled: BOOLEAN }),
  configmap: strict({ hashSumEnabled: BOOLEAN }),
  watcher: strict({
    ...WATCHER_PROPERTIES,
    podSecurityContext: POD_SECURITY,
    securityContext: CONTAINER_SECURITY,
  }),
  test: strict({ busybox: TEST_BUSYBOX, labels: STRING_MAP }),
});

// ---------------------------------------------------------------------------
// kratos chart

/**
 * The courier StatefulSet. Its empty keys fall back to the deployment's
 * (templates/statefulset-mail.yaml).
 */
const KRATOS_STATEFUL_SET = strict({
  annotations: STRING_MAP,
  labels: STRING_MAP,
  podMetadata: POD_METADATA,
  resources: RESOURCES,
  extraArgs: STRINGS,
  extraEnv: ENV,
  environmentSecretsName: STRING,
  extraVolumes: VOLUMES,
  extraVolumeMounts: VOLUME_MOUNTS,
  extraContainers: TEMPLATED_CONTAINERS,
  extraInitContainers: TEMPLATED_CONTAINERS,
  nodeSelector: STRING_MAP,
  tolerations: TOLERATIONS,
  affinity: AFFINITY,
  topologySpreadConstraints: SPREAD,
  dnsConfig: DNS_CONFIG,
  podSecurityContext: POD_SECURITY,
  priorityClassName: STRING,
  revisionHistoryLimit: COUNT,
  terminationGracePeriodSeconds: COUNT,
  log: strict({ format: STRING, level: STRING }),
});

const KRATOS_SERVICE = strict({
  ...SERVICE_PROPERTIES,
  labels: STRING_MAP,
  metricsPath: STRING,
});

const KRATOS_COURIER_SERVICE = strict({
  enabled: BOOLEAN,
  type: SERVICE_PROPERTIES["type"]!,
  port: PORT,
  containerPort: PORT,
  name: STRING,
  annotations: STRING_MAP,
  labels: STRING_MAP,
  metricsPath: STRING,
});

const KRATOS_VALUES = strict({
  ...COMMON_TOP_LEVEL,
  // `image` may also be one "repository:tag" string, with the pull policy in
  // imagePullPolicy (templates/_helpers.tpl, "kratos.image").
  image: { anyOf: [STRING, IMAGE] },
  imagePullPolicy: oneOfStrings("Always", "IfNotPresent", "Never"),
  strategy: STRATEGY,
  autoscaling: AUTOSCALING,
  securityContext: CONTAINER_SECURITY,
  // Older templates (templates/deployment-kratos.yaml at 00dbcaf9) read these.
  resources: RESOURCES,
  nodeSelector: STRING_MAP,
  affinity: AFFINITY,
  tolerations: TOLERATIONS,
  service: strict({
    admin: KRATOS_SERVICE,
    public: KRATOS_SERVICE,
    courier: KRATOS_COURIER_SERVICE,
  }),
  ingress: strict({ admin: INGRESS, public: INGRESS }),
  httproute: httpRoutes("admin", "public"),
  kratos: strict({
    development: BOOLEAN,
    // Not in the 0.60.1 value table, accepted so that a release written for
    // a newer chart is not flagged.
    customArgs: STRINGS,
    automigration: AUTOMIGRATION,
    customMigrations: CUSTOM_MIGRATIONS,
    config: KRATOS_CONFIG,
    // File name to JSON schema text, written next to kratos.yaml.
    identitySchemas: { type: "object", additionalProperties: STRING },
    // Template kind (e.g. recovery) to result (valid, invalid) to texts.
    emailTemplates: { type: "object", additionalProperties: FREE_FORM },
  }),
  deployment: strict({
    ...DEPLOYMENT_PROPERTIES,
    labels: STRING_MAP,
    affinity: AFFINITY,
    priorityClassName: STRING,
    serviceAccount: SERVICE_ACCOUNT,
    extraArgs: STRINGS,
    environmentSecretsName: STRING,
  }),
  statefulSet: KRATOS_STATEFUL_SET,
  courier: strict({ enabled: BOOLEAN }),
  job: strict(JOB_PROPERTIES),
  cleanup: strict({
    enabled: BOOLEAN,
    batchSize: { type: "integer", minimum: 1 },
    keepLast: STRING,
    sleepTables: STRING,
  }),
  cronjob: strict({
    cleanup: strict({
      schedule: STRING,
      customArgs: STRINGS,
      extraEnv: ENV,
      extraContainers: TEMPLATED_CONTAINERS,
      extraInitContainers: TEMPLATED_CONTAINERS,
      labels: STRING_MAP,
      annotations: STRING_MAP,
      podMetadata: POD_METADATA,
      nodeSelector: STRING_MAP,
      tolerations: TOLERATIONS,
      affinity: AFFINITY,
      automountServiceAccountToken: BOOLEAN,
      shareProcessNamespace: BOOLEAN,
      serviceAccount: SERVICE_ACCOUNT,
      resources: RESOURCES,
    }),
  }),
  serviceMonitor: strict({ ...SERVICE_MONITOR_PROPERTIES, enabled: BOOLEAN }),
  configmap: strict({ hashSumEnabled: BOOLEAN, annotations: STRING_MAP }),
  watcher: strict(WATCHER_PROPERTIES),
  test: strict({ busybox: TEST_BUSYBOX }),
});

// ---------------------------------------------------------------------------
// keto chart

const KETO_SERVICE = strict({
  ...SERVICE_PROPERTIES,
  clusterIP: STRING,
  appProtocol: STRING,
  headless: strict({ enabled: BOOLEAN }),
});

/**
 * The keto Deployment keys. Older templates (templates/deployment.yaml at
 * 02aae02f) fall back to the same keys at the top level when these are
 * empty, so those are accepted at the top level too.
 */
const KETO_LEGACY_TOP_LEVEL: Record<string, StructuralSchema> = {
  podAnnotations: STRING_MAP,
  podSecurityContext: POD_SECURITY,
  automountServiceAccountToken: BOOLEAN,
  livenessProbe: PROBE,
  readinessProbe: PROBE,
  autoscaling: AUTOSCALING,
  resources: RESOURCES,
  extraInitContainers: TEMPLATED_CONTAINERS,
  extraContainers: TEMPLATED_CONTAINERS,
  extraLabels: STRING_MAP,
  extraVolumes: VOLUMES,
  extraVolumeMounts: VOLUME_MOUNTS,
  nodeSelector: STRING_MAP,
  affinity: AFFINITY,
  tolerations: TOLERATIONS,
  topologySpreadConstraints: SPREAD,
  strategy: STRATEGY,
};

const KETO_VALUES = strict({
  ...COMMON_TOP_LEVEL,
  ...KETO_LEGACY_TOP_LEVEL,
  securityContext: CONTAINER_SECURITY,
  serviceAccount: SERVICE_ACCOUNT,
  service: strict({
    read: KETO_SERVICE,
    write: KETO_SERVICE,
    metrics: KETO_SERVICE,
    opl: KETO_SERVICE,
  }),
  // Extra Services (name to Service fields) and extra manifests, rendered
  // as given.
  extraServices: { type: "object", additionalProperties: FREE_FORM },
  extraDeploy: listOf(FREE_FORM),
  ingress: strict({ read: INGRESS, write: INGRESS, opl: INGRESS }),
  httproute: httpRoutes("read", "write"),
  keto: strict({
    command: STRINGS,
    customArgs: STRINGS,
    automigration: AUTOMIGRATION,
    customMigrations: CUSTOM_MIGRATIONS,
    config: KETO_CONFIG,
  }),
  deployment: strict({
    ...DEPLOYMENT_PROPERTIES,
    affinity: AFFINITY,
    autoscaling: AUTOSCALING,
    strategy: STRATEGY,
    extraLabels: STRING_MAP,
    extraPorts: listOf(ref("V1ContainerPort")),
    podAnnotations: STRING_MAP,
    minReadySeconds: COUNT,
  }),
  job: strict(JOB_PROPERTIES),
  serviceMonitor: strict(SERVICE_MONITOR_PROPERTIES),
  configmap: strict({ hashSumEnabled: BOOLEAN }),
  watcher: strict(WATCHER_PROPERTIES),
  test: strict({ busybox: TEST_BUSYBOX, labels: STRING_MAP }),
});

const VALUES_SCHEMAS: Record<OryService, StructuralSchema> = {
  hydra: HYDRA_VALUES,
  kratos: KRATOS_VALUES,
  keto: KETO_VALUES,
};

/**
 * Returns the schema of a HelmRelease's `spec.values` for the Ory chart of
 * `service`. `$ref` nodes name definitions in schemas/kubernetes.json, so
 * check it with `resolveRef` from schemas/index.ts.
 */
export function oryValuesSchema(service: OryService): StructuralSchema {
  return VALUES_SCHEMAS[service];
}
