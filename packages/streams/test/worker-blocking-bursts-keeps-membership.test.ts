import { afterAll, describe, it } from "vitest";
import { type Backend, brokerBackend } from "./runtime-helpers.js";
import { blockingBurstsScenario } from "./worker-blocking-bursts-scenario.js";

describe("a worker whose processing blocks its event loop in bursts", () => {
  let backend: Backend | undefined;
  afterAll(async () => {
    await backend?.close();
  });

  it("keeps its group membership while a second worker is in the group: no rebalance, nothing processed twice", async () => {
    backend = await brokerBackend();
    await blockingBurstsScenario(backend);
  });
});
