import { afterEach, describe, it } from "vitest";
import type { Backend } from "../../streams/test/runtime-helpers.js";
import {
  crashRestoreScenario,
  ordersJoinsScenario,
  pageViewsWindowsScenario,
  tableScenario,
  wordCountScenario,
} from "../../streams/test/worker-scenarios.js";
import { killRepeatScenario } from "../../streams/test/worker-kill-repeat-scenario.js";
import { kafkaBackend } from "./kafka-streams-backend.js";
import { kafkaBrokers } from "./kafka-helpers.js";

kafkaBrokers();

// The streams end-to-end scenarios the broker runs (packages/streams/test/worker-*.test.ts),
// unchanged, on a real Kafka broker: worker processes with RocksDB state, their changelog
// and repartition topics, and the app's consumer group are Kafka's.
let backend: Backend | undefined;
afterEach(async () => {
  await backend?.close();
  backend = undefined;
});

describe("streams workers on Apache Kafka", () => {
  it("count words like the reference over 3000 lines on 3 partitions, state in RocksDB", async () => {
    backend = await kafkaBackend("wc");
    await wordCountScenario(backend);
  });

  it("keep a KTable of the latest value per key (tombstones delete) and regrouped counts", async () => {
    backend = await kafkaBackend("tbl");
    await tableScenario(backend);
  });

  it("a stateful worker killed with SIGKILL restores from the changelog and loses no input", {
    timeout: 400_000, // a hang guard (loaded machines)
  }, async () => {
    backend = await kafkaBackend("crash");
    await crashRestoreScenario(backend, { kills: 4, sessionMs: 2000 });
  });

  it("word-count workers killed with SIGKILL while lines arrive count twice no more words than the uncommitted tails at the kills and the repeats dropped workers reported", {
    timeout: 400_000, // a hang guard (loaded machines)
  }, async () => {
    backend = await kafkaBackend("kill");
    await killRepeatScenario(backend, { kills: 3, sessionMs: 3000, historyLines: 6000 });
  });

  it("count page views in tumbling windows and sessions like the reference; late views count or drop as on the broker", {
    timeout: 400_000, // a hang guard (loaded machines)
  }, async () => {
    backend = await kafkaBackend("win");
    await pageViewsWindowsScenario(backend);
  });

  it("enrich orders with customers and pair them with payments (stream-table and stream-stream joins) like the reference", {
    timeout: 400_000, // a hang guard (loaded machines)
  }, async () => {
    backend = await kafkaBackend("join");
    await ordersJoinsScenario(backend);
  });
});
