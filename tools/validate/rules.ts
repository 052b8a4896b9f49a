import type { Severity } from "./findings.js";

/** The catalogue entry of one rule; docs/rules.md is generated from these. */
export interface Rule {
  id: string;
  severity: Severity;
  /** Section of docs/rules.md the rule is listed under. */
  group: string;
  checks: string;
  /** The failure the rule prevents. */
  why: string;
  fix: string;
}

const RULES: Rule[] = [];
const BY_ID = new Map<string, Rule>();

/** Adds rules to the catalogue; an id registered twice is a bug. */
export function registerRules(rules: Rule[]): void {
  for (const rule of rules) {
    if (BY_ID.has(rule.id))
      throw new Error(`rule ${rule.id} is registered twice`);
    BY_ID.set(rule.id, rule);
    RULES.push(rule);
  }
}

export function findRule(id: string): Rule | undefined {
  return BY_ID.get(id);
}

export function allRules(): readonly Rule[] {
  return RULES;
}

const FILES = "Files and YAML";
const BUILD = "Flux builds";
const SCHEMA = "Schemas";
const REFERENCES = "References";
const MODELS = "Environment model and cluster specs";

registerRules([
  {
    id: "yaml-syntax",
    severity: "error",
    group: FILES,
    checks:
      "Every YAML file git tracks parses: no tabs in indentation, no duplicate keys, no bad indentation.",
    why: "kustomize and the API server reject the file, and Flux stops applying everything in that Kustomization.",
    fix: "Fix the syntax at the line and column shown; indent with spaces and keep one copy of each key.",
  },
  {
    id: "yaml-unreadable",
    severity: "error",
    group: FILES,
    checks:
      "Every YAML file git lists can be read, for example it is not missing read permission for the user running the validator.",
    why: "An unread file is checked by nothing, while Flux reads it from git and applies or rejects it.",
    fix: "Give the user running the validator read access, e.g. check out the repository as that user.",
  },
  {
    id: "yaml-too-large",
    severity: "error",
    group: FILES,
    checks: "No YAML file is over 8 MiB.",
    why: "A file that size is almost always generated output committed by mistake, and it makes every build slow.",
    fix: "Split the file or remove it; generated CRD bundles fit well under the limit.",
  },
  {
    id: "yaml-alias-bomb",
    severity: "error",
    group: FILES,
    checks:
      "No document expands to more than 1,000,000 nodes through YAML aliases.",
    why: "kustomize expands aliases eagerly; a few hundred bytes of nested aliases used more than 16 GB there.",
    fix: "Write the repeated values out, or use fewer nested aliases.",
  },
  {
    id: "flux-build",
    severity: "error",
    group: BUILD,
    checks:
      "A Flux Kustomization path without kustomization.yaml holds only Kubernetes objects.",
    why: 'Flux generates a kustomization listing every YAML file there and fails with "missing Resource metadata" on any other file.',
    fix: "Move the file out of the path, or add a kustomization.yaml that lists only the manifests.",
  },
  {
    id: "kustomize-build",
    severity: "error",
    group: BUILD,
    checks:
      "Each Flux Kustomization's path builds with `kubectl kustomize --load-restrictor LoadRestrictionsNone` within 60 s and 2 GiB.",
    why: "kustomize-controller runs the same build; when it fails, nothing in the Kustomization is applied.",
    fix: "Run the kubectl command shown to reproduce the error, then fix the file it names.",
  },
  {
    id: "flux-substitute-undefined",
    severity: "error",
    group: BUILD,
    checks:
      "Every `${VAR}` in a Kustomization with postBuild has a value or a default.",
    why: "Since Flux 2.9 an undefined variable without a default fails the reconciliation.",
    fix: "Add the variable to spec.postBuild.substitute, or write `${VAR:=default}`.",
  },
  {
    id: "flux-substitute-result",
    severity: "error",
    group: BUILD,
    checks: "Each object is still valid YAML after variable substitution.",
    why: "kustomize-controller parses the substituted text again and fails the reconciliation when it cannot.",
    fix: "Quote the value around the expression, or quote the variable's value.",
  },
  {
    id: "sops-without-decryption",
    severity: "error",
    group: BUILD,
    checks:
      "A SOPS-encrypted Secret is applied by a Kustomization with `spec.decryption.provider: sops`.",
    why: "Without decryption Flux applies the ciphertext, and the workload reads garbage as its credentials.",
    fix: "Set spec.decryption.provider and spec.decryption.secretRef on the Kustomization.",
  },
  {
    id: "schema",
    severity: "error",
    group: SCHEMA,
    checks:
      "Each object matches its schema: types, required fields, enums, patterns and limits.",
    why: "The API server rejects the object and the whole Kustomization fails to apply.",
    fix: "Correct the value to the type or form the message names.",
  },
  {
    id: "schema-unknown-field",
    severity: "error",
    group: SCHEMA,
    checks:
      "Each object has only the fields its schema declares (custom resources: their CRD's).",
    why: "Flux applies with strict field validation, so the apply fails; a client that drops unknown fields instead loses the setting silently.",
    fix: "Remove the field or correct its spelling; the message suggests the nearest known field.",
  },
  {
    id: "flux-duration",
    severity: "error",
    group: SCHEMA,
    checks:
      "Flux `interval`, `timeout` and `retryInterval` are Go durations such as 30s, 5m or 1h.",
    why: "The Flux CRDs reject any other form, so the object is never applied.",
    fix: "Write the duration as a number and unit without spaces, e.g. 5m.",
  },
  {
    id: "flux-substitute-string",
    severity: "error",
    group: SCHEMA,
    checks: "Every value in `spec.postBuild.substitute` is a string.",
    why: "The Kustomization CRD declares the map's values as strings, so an unquoted number or boolean is rejected.",
    fix: 'Quote the value, e.g. REPLICAS: "3".',
  },
  {
    id: "flux-substitute-name",
    severity: "error",
    group: SCHEMA,
    checks:
      "Every variable name in `spec.postBuild.substitute` is letters, digits and underscores, not starting with a digit.",
    why: "kustomize-controller rejects other names and fails the reconciliation.",
    fix: "Rename the variable.",
  },
  {
    id: "api-version-removed",
    severity: "error",
    group: SCHEMA,
    checks: "No object uses a Flux API version that Flux 2.9 no longer serves.",
    why: "The API server has no such version, so the object cannot be applied after a Flux upgrade.",
    fix: "Change apiVersion to the version the message names and update renamed fields.",
  },
  {
    id: "kind-unknown",
    severity: "error",
    group: SCHEMA,
    checks:
      "An object in a Kubernetes or Flux API group uses a kind and version that group serves.",
    why: "No CustomResourceDefinition can add a kind to these groups, so the cluster rejects the object; a misspelt kind such as Configmap is not skipped as an unknown custom resource.",
    fix: "Correct the kind (names are case-sensitive) or the apiVersion.",
  },
  {
    id: "data-too-large",
    severity: "error",
    group: SCHEMA,
    checks:
      "The data of a ConfigMap or Secret is at most 1 MiB, counting text as UTF-8 and base64 values decoded.",
    why: "The API server rejects a larger object, and Flux's apply of that Kustomization fails.",
    fix: "Split the data over several objects, or mount it from a volume or an image.",
  },
  {
    id: "helmrelease-chart-source",
    severity: "error",
    group: SCHEMA,
    checks:
      "A HelmRelease sets exactly one of `spec.chart` and `spec.chartRef`.",
    why: "helm-controller's CRD rejects both or neither, so the release is never installed.",
    fix: "Keep one of the two.",
  },
  {
    id: "reference-missing",
    severity: "error",
    group: REFERENCES,
    checks:
      "Every sourceRef, chartRef, dependsOn, valuesFrom, substituteFrom and alert providerRef points at an object the same cluster gets from git, or at a Secret the environment model declares.",
    why: "Flux waits for the missing object forever, and the Kustomization or release stays not Ready.",
    fix: "Add the object, declare the Secret in the environment model, or fix the name and namespace.",
  },
  {
    id: "flux-path-missing",
    severity: "error",
    group: REFERENCES,
    checks:
      "Each Flux Kustomization's `spec.path`, and each of its `spec.components`, is a folder of the repository.",
    why: 'kustomize-controller fails with "kustomization path not found" and applies nothing.',
    fix: "Set spec.path relative to the repository root, e.g. ./environments/dev/ory.",
  },
  {
    id: "kustomization-entry-missing",
    severity: "error",
    group: REFERENCES,
    checks:
      "Every local file and folder a kustomization.yaml lists exists inside the repository and has the expected type.",
    why: "kustomize fails the build of every overlay that includes this kustomization.",
    fix: "Fix the path relative to the kustomization.yaml, or remove the entry.",
  },
  {
    id: "environment-model",
    severity: "error",
    group: MODELS,
    checks:
      "Each environments/<env>/environment.yaml matches its schema, names existing clusters and promotion targets, and declares the Secrets it refers to.",
    why: "Every tool (bootstrap, sync, smoke, promote) reads this file; a wrong field sends them at the wrong cluster or database.",
    fix: "Correct the field; the Environment type in tools/lib/environment.ts documents each one.",
  },
  {
    id: "cluster-spec",
    severity: "error",
    group: MODELS,
    checks:
      "Each clusters/<cluster>/cluster.yaml matches its schema, belongs to its environment, has subnets in exactly the environment's zones, and sizes its node group sensibly.",
    why: "bootstrap creates the EKS cluster from this file; a CockroachDB cluster with fewer nodes than zones cannot keep one replica per zone.",
    fix: "Correct the field; the ClusterSpec type in tools/lib/cluster.ts documents each one.",
  },
]);
