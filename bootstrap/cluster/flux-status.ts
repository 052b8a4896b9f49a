import type { KubernetesObject } from "../../tools/lib/kubernetes.js";
import type { Manifest } from "./flux-manifests.js";

/** A Kubernetes status condition as Flux reports it. */
export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export function conditionOf(
  object: Manifest,
  type: string,
): Condition | undefined {
  const status = object.status as { conditions?: Condition[] } | undefined;
  return status?.conditions?.find((condition) => condition.type === type);
}

export function readyCondition(object: Manifest): Condition | undefined {
  return conditionOf(object, "Ready");
}

/** Checks whether the status describes the object's latest spec. */
export function isCurrent(object: Manifest): boolean {
  const generation = (object.metadata as { generation?: number }).generation;
  const observed = (
    object.status as { observedGeneration?: number } | undefined
  )?.observedGeneration;
  return (
    generation === undefined || observed === undefined || observed >= generation
  );
}

export function describeCondition(condition: Condition | undefined): string {
  if (!condition) return "no Ready condition yet";
  const reason = condition.reason ? ` (${condition.reason})` : "";
  const message = condition.message ? `: ${condition.message}` : "";
  return `Ready=${condition.status}${reason}${message}`;
}

export function reference(object: KubernetesObject) {
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: object.metadata.name,
    namespace: object.metadata.namespace,
  };
}
