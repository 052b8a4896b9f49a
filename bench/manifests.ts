/**
 * Builders for the objects of the synthetic repository. Each returns a plain
 * object that js-yaml writes out. The shapes follow what the Flux and
 * Kubernetes APIs accept, so a generated repository without seeded mistakes
 * validates clean.
 */
export type Manifest = Record<string, unknown>;

/** One Helm chart source of every cluster, with the charts apps install from it. */
export interface ChartSource {
  repository: string;
  url: string;
  charts: { name: string; version: string }[];
}

export const CHART_SOURCES: ChartSource[] = [
  {
    repository: "bitnami",
    url: "https://charts.bitnami.com/bitnami",
    charts: [
      { name: "redis", version: "19.6.4" },
      { name: "postgresql", version: "15.5.20" },
      { name: "rabbitmq", version: "14.6.6" },
    ],
  },
  {
    repository: "podinfo",
    url: "https://stefanprodan.github.io/podinfo",
    charts: [{ name: "podinfo", version: "6.7.1" }],
  },
  {
    repository: "prometheus-community",
    url: "https://prometheus-community.github.io/helm-charts",
    charts: [
      { name: "kube-state-metrics", version: "5.25.1" },
      { name: "prometheus-node-exporter", version: "4.39.0" },
    ],
  },
];

export const FLUX_NAMESPACE = "flux-system";

function labelsOf(app: string, team: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": app,
    "app.kubernetes.io/part-of": team,
  };
}

export function gitRepository(): Manifest {
  return {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: { name: FLUX_NAMESPACE, namespace: FLUX_NAMESPACE },
    spec: {
      interval: "1m",
      url: "https://github.com/example-org/fleet",
      ref: { branch: "main" },
      secretRef: { name: FLUX_NAMESPACE },
    },
  };
}

export interface FluxKustomizationOptions {
  name: string;
  path: string;
  dependsOn?: string[];
  /** postBuild.substitute variables; none when omitted. */
  variables?: Record<string, string>;
}

export function fluxKustomization(options: FluxKustomizationOptions): Manifest {
  const spec: Manifest = {
    interval: "10m",
    retryInterval: "2m",
    timeout: "5m",
    path: options.path,
    prune: true,
    wait: true,
    sourceRef: { kind: "GitRepository", name: FLUX_NAMESPACE },
  };
  if (options.dependsOn) {
    spec.dependsOn = options.dependsOn.map((name) => ({ name }));
  }
  if (options.variables) spec.postBuild = { substitute: options.variables };
  return {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: options.name, namespace: FLUX_NAMESPACE },
    spec,
  };
}

/** Builds a kustomize configuration file (kustomization.yaml), not a Flux object. */
export function kustomizeConfig(
  resources: string[],
  patches: string[] = [],
): Manifest {
  const config: Manifest = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources,
  };
  if (patches.length > 0) config.patches = patches.map((path) => ({ path }));
  return config;
}

export function namespace(name: string): Manifest {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name, labels: { "app.kubernetes.io/part-of": name } },
  };
}

export function helmRepository(source: ChartSource): Manifest {
  return {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "HelmRepository",
    metadata: { name: source.repository, namespace: FLUX_NAMESPACE },
    spec: { interval: "1h", url: source.url },
  };
}

export interface WorkloadOptions {
  app: string;
  team: string;
  image: string;
  replicas: number;
  serviceAccount: boolean;
  configMap: boolean;
}

export function deployment(options: WorkloadOptions): Manifest {
  const { app, team } = options;
  const container: Manifest = {
    name: app,
    image: options.image,
    ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
    resources: {
      requests: { cpu: "100m", memory: "128Mi" },
      limits: { memory: "256Mi" },
    },
    readinessProbe: {
      httpGet: { path: "/healthz", port: "http" },
      periodSeconds: 10,
    },
    livenessProbe: {
      httpGet: { path: "/livez", port: "http" },
      initialDelaySeconds: 10,
      periodSeconds: 20,
    },
    securityContext: {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
  };
  if (options.configMap) {
    container.envFrom = [{ configMapRef: { name: `${app}-config` } }];
  }
  const podSpec: Manifest = { containers: [container] };
  if (options.serviceAccount) podSpec.serviceAccountName = app;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: app, namespace: team, labels: labelsOf(app, team) },
    spec: {
      replicas: options.replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: { "app.kubernetes.io/name": app } },
      strategy: {
        type: "RollingUpdate",
        rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
      },
      template: {
        metadata: { labels: labelsOf(app, team) },
        spec: podSpec,
      },
    },
  };
}

export function service(app: string, team: string): Manifest {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: app, namespace: team, labels: labelsOf(app, team) },
    spec: {
      type: "ClusterIP",
      selector: { "app.kubernetes.io/name": app },
      ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
    },
  };
}

/** Settings of one app; the `${...}` values are Flux post-build variables. */
export function configMap(app: string, team: string): Manifest {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: `${app}-config`,
      namespace: team,
      labels: labelsOf(app, team),
    },
    data: {
      LOG_LEVEL: "info",
      LOG_FORMAT: "json",
      CLUSTER_NAME: "${cluster_name}",
      ENVIRONMENT: "${environment}",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel-collector.observability:4317",
    },
  };
}

export function serviceAccount(app: string, team: string): Manifest {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: app, namespace: team, labels: labelsOf(app, team) },
    automountServiceAccountToken: false,
  };
}

export function podDisruptionBudget(app: string, team: string): Manifest {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: app, namespace: team, labels: labelsOf(app, team) },
    spec: {
      minAvailable: 1,
      selector: { matchLabels: { "app.kubernetes.io/name": app } },
    },
  };
}

export interface HelmReleaseOptions {
  app: string;
  team: string;
  source: ChartSource;
  chart: { name: string; version: string };
  /** Name of a ConfigMap in the same namespace to read values from. */
  valuesConfigMap?: string;
}

export function helmRelease(options: HelmReleaseOptions): Manifest {
  const spec: Manifest = {
    interval: "10m",
    timeout: "5m",
    chart: {
      spec: {
        chart: options.chart.name,
        version: options.chart.version,
        sourceRef: {
          kind: "HelmRepository",
          name: options.source.repository,
          namespace: FLUX_NAMESPACE,
        },
      },
    },
    install: { remediation: { retries: 3 } },
    upgrade: { remediation: { retries: 3 } },
    values: {
      fullnameOverride: options.app,
      resources: {
        requests: { cpu: "50m", memory: "64Mi" },
        limits: { memory: "128Mi" },
      },
      podLabels: labelsOf(options.app, options.team),
    },
  };
  if (options.valuesConfigMap) {
    spec.valuesFrom = [{ kind: "ConfigMap", name: options.valuesConfigMap }];
  }
  return {
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: { name: options.app, namespace: options.team },
    spec,
  };
}

/** Values a HelmRelease reads through spec.valuesFrom. */
export function valuesConfigMap(name: string, team: string): Manifest {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: team },
    data: {
      "values.yaml":
        "metrics:\n  enabled: true\nserviceMonitor:\n  enabled: false\n",
    },
  };
}
