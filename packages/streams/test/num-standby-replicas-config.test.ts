import { describe, expect, it } from "vitest";
import { defineApp, StreamsArgumentError } from "../src/index.js";

describe("numStandbyReplicas in an app's config", () => {
  const topology = () => {};

  it("defaults to 0 and takes a whole number", () => {
    expect(defineApp({ applicationId: "a", topology }).config.numStandbyReplicas).toBe(0);
    const two = defineApp({ applicationId: "b", topology, config: { numStandbyReplicas: 2 } });
    expect(two.config.numStandbyReplicas).toBe(2);
  });

  it("refuses a negative or fractional count, naming the setting", () => {
    for (const bad of [-1, 1.5, Number.NaN]) {
      const define = () =>
        defineApp({ applicationId: "c", topology, config: { numStandbyReplicas: bad } });
      expect(define).toThrow(StreamsArgumentError);
      expect(define).toThrow(/numStandbyReplicas must be an integer >= 0/);
    }
  });
});
