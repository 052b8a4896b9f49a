import { describe, expect, it } from "vitest";
import { benchSmoke } from "../../bench/smoke.js";

describe("smoke benchmark", () => {
  it("runs the services in parallel", async () => {
    const result = await benchSmoke({ latencyMs: 20, runs: 1 });

    expect(result.slowestChainMs).toBeGreaterThan(0);
    // Services that added up would give about 3, and overlap gives about 1.
    // The margin absorbs cleanup, which deletes one item per service in turn.
    expect(result.ratio).toBeLessThan(1.8);
  });
});
