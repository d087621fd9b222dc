import { afterEach, describe, expect, it } from "vitest";
import {
  clickReference,
  countSerde,
  diff,
  generateClicks,
  HISTORY,
  pageWindowKey,
  produceClicks,
  runClickApp,
} from "../../streams/test/event-time-helpers.js";
import { type Backend, readTopic } from "../../streams/test/runtime-helpers.js";
import { kafkaBackend } from "./kafka-streams-backend.js";
import { kafkaBrokers } from "./kafka-helpers.js";

kafkaBrokers();

let backend: Backend | undefined;
afterEach(async () => {
  await backend?.close();
  backend = undefined;
});

// Issue 11 on Kafka: the watermarks travel as header-marked records on the repartition
// topic, which Kafka stores and serves like any other record; the hopping windows over
// replayed history must come out exact whatever the worker count, as on the embedded log.
describe("event time over a repartition topic on Apache Kafka, replaying history", () => {
  it("5-minute windows hopping 1 minute (grace 30 s) after groupBy equal the reference with 1, 2 and 3 workers", {
    timeout: 600_000, // a hang guard (loaded machines)
  }, async () => {
    backend = await kafkaBackend("et");
    const outs = [1, 2, 3].map((n) => `clicks-${n}w-out`);
    for (const t of ["clicks", ...outs]) {
      await backend.log.admin.createTopic(t, { partitions: 3, config: HISTORY });
    }
    const clicks = generateClicks(12_000, 17);
    await produceClicks(backend.log, clicks);
    const want = clickReference(clicks);
    for (const n of [1, 2, 3]) {
      await runClickApp(backend, `clicks-${n}w`, n);
      const got = (await readTopic(backend.log, `clicks-${n}w-out`, pageWindowKey, countSerde))
        .table as Map<string, number>;
      expect(diff(got, want), `${n} worker(s)`).toBe(diff(want, want));
    }
  });
});
