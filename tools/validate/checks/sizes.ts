import type { FindingSink } from "../findings.js";
import type { Locator } from "../locate.js";
import {
  apiVersionOf,
  describeObject,
  kindOf,
  type RenderedObject,
} from "../objects.js";
import { isPlainObject } from "../structural-schema.js";

/** The API server's limit on the data of one ConfigMap or Secret. */
export const MAX_DATA_BYTES = 1024 * 1024;

/**
 * Reports ConfigMaps and Secrets whose data is over 1 MiB. The API server
 * rejects such an object as too long, so the whole Flux apply of that
 * Kustomization fails. Values count as stored: text as UTF-8, base64
 * values decoded.
 */
export function checkDataSizes(
  objects: RenderedObject[],
  sink: FindingSink,
  locator: Locator,
): void {
  for (const object of objects) {
    const kind = kindOf(object.data);
    if (apiVersionOf(object.data) !== "v1") continue;
    if (kind !== "ConfigMap" && kind !== "Secret") continue;
    const data = object.data as Record<string, unknown>;
    let bytes = 0;
    const add = (field: string, decode: boolean) => {
      const values = data[field];
      if (!isPlainObject(values)) return;
      for (const value of Object.values(values)) {
        if (typeof value !== "string") continue;
        bytes += decode
          ? Buffer.from(value, "base64").length
          : Buffer.byteLength(value);
      }
    };
    if (kind === "ConfigMap") {
      add("data", false);
      add("binaryData", true);
    } else {
      add("data", true);
      add("stringData", false);
    }
    if (bytes <= MAX_DATA_BYTES) continue;
    sink.add({
      rule: "data-too-large",
      severity: "error",
      ...locator.locate(object, []),
      resource: describeObject(object.data),
      message: `${kind} data is ${(bytes / 1024 / 1024).toFixed(2)} MiB; the API server rejects more than 1 MiB, and Flux's apply of everything in this Kustomization fails`,
      fix: "split the data over several objects, or mount it from a volume or an image instead",
    });
  }
}
