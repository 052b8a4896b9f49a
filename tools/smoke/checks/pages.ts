import { CheckFailure } from "../steps.js";
import { describeBody, type ApiResponse } from "../http.js";

/** Returns the JSON array a list endpoint returned, or throws. */
export function asArray(response: ApiResponse): unknown[] {
  if (Array.isArray(response.json)) return response.json;
  throw new CheckFailure(
    `${response.request} returned no JSON array: ${describeBody(response)}`,
    { retry: false },
  );
}

/** Reads `page_token` from the rel="next" entry of a Link header. */
export function nextPageToken(link: string | undefined): string | undefined {
  for (const entry of (link ?? "").split(",")) {
    if (!/rel="?next"?/.test(entry)) continue;
    const target = /<([^>]*)>/.exec(entry)?.[1];
    if (!target) continue;
    const token = new URL(target, "http://link.invalid").searchParams.get(
      "page_token",
    );
    if (token) return token;
  }
  return undefined;
}
