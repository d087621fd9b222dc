import { afterEach, describe, it } from "vitest";
import type { Backend } from "../../streams/test/runtime-helpers.js";
import { wordCountScenario } from "../../streams/test/worker-scenarios.js";
import { kafkaBackend } from "./kafka-streams-backend.js";

// The streams word-count scenario with every client logging in: the test's KafkaLog and
// the worker processes' (each opened with KafkaLog's sasl option, the API a program that
// runs a Worker itself uses) on the test broker's SASL listener, which serves no one
// without a login.
let backend: Backend | undefined;
afterEach(async () => {
  await backend?.close();
  backend = undefined;
});

describe("streams workers on Kafka over SASL", () => {
  it("count words like the reference with SASL/PLAIN logins", async () => {
    backend = await kafkaBackend("wcplain", "PLAIN");
    await wordCountScenario(backend);
  });
});
