import { describe, expect, it } from "vitest";
import { defineApp, StreamsArgumentError } from "../src/index.js";

describe("processingGuarantee in an app's config", () => {
  const topology = () => {};

  it("defaults to at_least_once and takes exactly_once", () => {
    expect(defineApp({ applicationId: "a", topology }).config.processingGuarantee).toBe(
      "at_least_once",
    );
    const eos = defineApp({
      applicationId: "b",
      topology,
      config: { processingGuarantee: "exactly_once" },
    });
    expect(eos.config.processingGuarantee).toBe("exactly_once");
  });

  it("refuses anything else, naming both values", () => {
    const define = () =>
      defineApp({
        applicationId: "c",
        topology,
        config: { processingGuarantee: "exactly_once_v2" as never },
      });
    expect(define).toThrow(StreamsArgumentError);
    expect(define).toThrow(
      /processingGuarantee must be "at_least_once" or "exactly_once", got 'exactly_once_v2'/,
    );
  });
});
