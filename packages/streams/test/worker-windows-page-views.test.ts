import { describe, it } from "vitest";
import { brokerBackend } from "./runtime-helpers.js";
import { pageViewsWindowsScenario } from "./worker-scenarios.js";

// The scenario lives in worker-scenarios.ts, so the Kafka suite runs the same one.
describe("page views per window on a real worker over a broker", () => {
  it("tumbling 1-minute windows (grace 10 s) and 30 s sessions over 12,000 views equal their references; views seconds late count, minutes late drop; old segments leave the changelog by time", {
    timeout: 300_000, // a hang guard (loaded machines)
  }, async () => {
    const backend = await brokerBackend();
    try {
      await pageViewsWindowsScenario(backend);
    } finally {
      await backend.close();
    }
  });
});
