import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, it } from "vitest";
import type { Backend } from "../../streams/test/runtime-helpers.js";
import { globalTableReadCommittedScenario } from "../../streams/test/global-table-eos-scenario.js";
import { kafkaBackend } from "./kafka-streams-backend.js";
import { kafkaBrokers } from "./kafka-helpers.js";

kafkaBrokers();

// The global-table scenario of packages/streams/test on a real Kafka broker: the products
// topic's aborted transactions are Kafka's, and the worker's global consumer reads
// read_committed through Kafka's isolation level.
let backend: Backend | undefined;
let stateDir: string | undefined;
afterEach(async () => {
  await backend?.close();
  backend = undefined;
  if (stateDir !== undefined) fs.rmSync(stateDir, { recursive: true, force: true });
});

describe("a global table under exactly-once on Apache Kafka", () => {
  it("never joins a record of an aborted transaction on its topic, at bootstrap or later", {
    timeout: 300_000, // a hang guard (loaded machines)
  }, async () => {
    backend = await kafkaBackend("gteos");
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-gteos-"));
    await globalTableReadCommittedScenario(backend.log, stateDir);
  });
});
