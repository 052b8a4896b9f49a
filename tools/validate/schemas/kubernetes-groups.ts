/**
 * API groups of the top-level kinds that @kubernetes/client-node 1.4.0 models.
 *
 * A model class name carries only the version (`V1Deployment`, `V2...`,
 * `V1beta1...`), so the group comes from these tables. The generator rejects
 * a top-level class that has no entry and an entry that matches no class, and
 * a test checks every entry against the request paths in the package's API
 * classes. The core group is the empty string.
 */

/** Groups of classes whose name starts with a group word, as in `CoreV1Event`. */
export const GROUP_BY_CLASS_PREFIX: Readonly<Record<string, string>> = {
  Authentication: "authentication.k8s.io",
  Core: "",
  Events: "events.k8s.io",
  Resource: "resource.k8s.io",
};

/** Groups of classes named only by version and kind, as in `V1Deployment`. */
export const GROUP_BY_KIND: Readonly<Record<string, string>> = {
  Binding: "",
  ComponentStatus: "",
  ConfigMap: "",
  Endpoints: "",
  LimitRange: "",
  Namespace: "",
  Node: "",
  PersistentVolume: "",
  PersistentVolumeClaim: "",
  Pod: "",
  PodTemplate: "",
  ReplicationController: "",
  ResourceQuota: "",
  Secret: "",
  Service: "",
  ServiceAccount: "",

  MutatingAdmissionPolicy: "admissionregistration.k8s.io",
  MutatingAdmissionPolicyBinding: "admissionregistration.k8s.io",
  MutatingWebhookConfiguration: "admissionregistration.k8s.io",
  ValidatingAdmissionPolicy: "admissionregistration.k8s.io",
  ValidatingAdmissionPolicyBinding: "admissionregistration.k8s.io",
  ValidatingWebhookConfiguration: "admissionregistration.k8s.io",
  CustomResourceDefinition: "apiextensions.k8s.io",
  APIService: "apiregistration.k8s.io",
  ControllerRevision: "apps",
  DaemonSet: "apps",
  Deployment: "apps",
  ReplicaSet: "apps",
  StatefulSet: "apps",
  SelfSubjectReview: "authentication.k8s.io",
  TokenReview: "authentication.k8s.io",
  LocalSubjectAccessReview: "authorization.k8s.io",
  SelfSubjectAccessReview: "authorization.k8s.io",
  SelfSubjectRulesReview: "authorization.k8s.io",
  SubjectAccessReview: "authorization.k8s.io",
  HorizontalPodAutoscaler: "autoscaling",
  Scale: "autoscaling",
  CronJob: "batch",
  Job: "batch",
  CertificateSigningRequest: "certificates.k8s.io",
  ClusterTrustBundle: "certificates.k8s.io",
  PodCertificateRequest: "certificates.k8s.io",
  Lease: "coordination.k8s.io",
  LeaseCandidate: "coordination.k8s.io",
  EndpointSlice: "discovery.k8s.io",
  FlowSchema: "flowcontrol.apiserver.k8s.io",
  PriorityLevelConfiguration: "flowcontrol.apiserver.k8s.io",
  StorageVersion: "internal.apiserver.k8s.io",
  IngressClass: "networking.k8s.io",
  Ingress: "networking.k8s.io",
  IPAddress: "networking.k8s.io",
  NetworkPolicy: "networking.k8s.io",
  ServiceCIDR: "networking.k8s.io",
  RuntimeClass: "node.k8s.io",
  Eviction: "policy",
  PodDisruptionBudget: "policy",
  ClusterRole: "rbac.authorization.k8s.io",
  ClusterRoleBinding: "rbac.authorization.k8s.io",
  Role: "rbac.authorization.k8s.io",
  RoleBinding: "rbac.authorization.k8s.io",
  DeviceClass: "resource.k8s.io",
  DeviceTaintRule: "resource.k8s.io",
  ResourceClaim: "resource.k8s.io",
  ResourceClaimTemplate: "resource.k8s.io",
  ResourceSlice: "resource.k8s.io",
  PriorityClass: "scheduling.k8s.io",
  CSIDriver: "storage.k8s.io",
  CSINode: "storage.k8s.io",
  CSIStorageCapacity: "storage.k8s.io",
  StorageClass: "storage.k8s.io",
  VolumeAttachment: "storage.k8s.io",
  VolumeAttributesClass: "storage.k8s.io",
  StorageVersionMigration: "storagemigration.k8s.io",
};

/** The parts of a model class name such as `CoreV1Event` or `V1beta1Lease`. */
export interface ModelName {
  prefix: string | undefined;
  version: string;
  kind: string;
}

const MODEL_NAME = /^([A-Z][a-z]+)?(V\d+(?:alpha\d+|beta\d+)?)([A-Z]\w*)$/;

/** Splits a model class name, or returns undefined for a name without a version. */
export function parseModelName(className: string): ModelName | undefined {
  const match = MODEL_NAME.exec(className);
  if (!match) return undefined;
  return {
    prefix: match[1],
    version: match[2]!.toLowerCase(),
    kind: match[3]!,
  };
}

/**
 * Returns the apiVersion of a top-level model class (`apps/v1` for
 * `V1Deployment`, `v1` for `V1Pod`), or undefined when the tables lack it.
 */
export function apiVersionOf(className: string): string | undefined {
  const name = parseModelName(className);
  if (!name) return undefined;
  const group =
    name.prefix === undefined
      ? GROUP_BY_KIND[name.kind]
      : GROUP_BY_CLASS_PREFIX[name.prefix];
  if (group === undefined) return undefined;
  return group === "" ? name.version : `${group}/${name.version}`;
}
