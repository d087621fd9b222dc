import { describe, it } from "vitest";
import { backendPerTest } from "../../streams/test/runtime-helpers.js";
import { standbyFailoverScenario } from "../../streams/test/standby-failover-scenario.js";
import { kafkaBackend } from "./kafka-streams-backend.js";
import { kafkaBrokers } from "./kafka-helpers.js";

kafkaBrokers();

// packages/streams/test's standby failover on a real Kafka broker: the standbys' changelog
// reads, the query endpoints' metadata and the group's move of the task are Kafka's.
const run = backendPerTest();

describe("standby replicas on Apache Kafka", () => {
  it("answer stale reads while the active worker is dead, and the moved task restores only the tail", {
    timeout: 600_000, // a hang guard (loaded machines)
  }, async () => {
    await standbyFailoverScenario(run.use(await kafkaBackend("standby")), run.workers);
  });

  it("do the same under exactly-once", { timeout: 600_000 }, async () => {
    await standbyFailoverScenario(run.use(await kafkaBackend("standbyeos")), run.workers, [
      "--guarantee",
      "exactly_once",
    ]);
  });
});
