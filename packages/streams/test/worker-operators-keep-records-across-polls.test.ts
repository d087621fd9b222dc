import path from "node:path";
import { openEmbeddedLog, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { defineApp, runWorker } from "../src/index.js";
import { eventually, produce, tempDir } from "./runtime-helpers.js";

const bytes = Serdes.bytes();
// 2 × ~4.5 MB: many fetches per partition, so records kept from early polls must survive
// every later fetch's decoding
const N = 20_000;
const PAD = "p".repeat(200);

const keyOf = (partition: number, i: number) => `k${partition}-${i}`;
const producedValue = (partition: number, i: number) => `${partition}:${i} ${PAD}`;

/**
 * The bytes-serde source forwards the consumer's records themselves, whose keys and values
 * are views of the fetched bytes, decoded by the record walk into arrays sized per fetch.
 * An operator that keeps what it is given across polls (here a peek collecting keys and
 * values, and a processor keeping whole records) must still see, after the last poll, what
 * was produced: no record object or buffer may be reused for a later record.
 */
describe("records kept by operators across polls", () => {
  it("keep their keys, values and timestamps after every later fetch", async () => {
    const dir = tempDir("kept-records");
    const log = await openEmbeddedLog(path.join(dir, "log"));
    try {
      const config = { retentionMs: -1 };
      await log.admin.createTopic("in", { partitions: 2, config });
      await log.admin.createTopic("out", { partitions: 2, config });
      const T0 = Date.UTC(2026, 0, 1);
      for (const partition of [0, 1]) {
        await produce(
          log,
          "in",
          Array.from({ length: N }, (_, i) => ({
            key: Buffer.from(keyOf(partition, i)),
            value: Buffer.from(producedValue(partition, i)),
            timestamp: T0 + i,
            partition,
          })),
        );
      }
      const peeked: [Buffer, Buffer][] = [];
      const kept: { key: Buffer; value: Buffer; timestamp: number }[] = [];
      const app = defineApp({
        applicationId: "keeps-records",
        topology: (b) => {
          b.stream<Buffer, Buffer>("in", { keySerde: bytes, valueSerde: bytes })
            .peek((k, v) => {
              peeked.push([k, v]);
            })
            .process(() => ({
              init() {},
              process(record) {
                kept.push(record as { key: Buffer; value: Buffer; timestamp: number });
              },
            }));
        },
      });
      const worker = runWorker(app, { log, stateDir: path.join(dir, "state") });
      await worker.start();
      try {
        await eventually(
          async () => (kept.length >= 2 * N ? true : undefined),
          "every record processed",
        );
      } finally {
        await worker.stop();
      }
      // what was produced, per partition in order, computed from the generator above
      const want = (p: number) =>
        Array.from({ length: N }, (_, i) => [keyOf(p, i), producedValue(p, i)]);
      const byPartition = (pairs: [Buffer, Buffer][], p: number) =>
        pairs
          .map(([k, v]) => [k.toString(), v.toString()])
          .filter(([k]) => k!.startsWith(`k${p}-`));
      for (const p of [0, 1]) {
        expect(byPartition(peeked, p)).toEqual(want(p));
        expect(
          byPartition(
            kept.map((r) => [r.key, r.value]),
            p,
          ),
        ).toEqual(want(p));
      }
      for (const r of kept) {
        const i = Number(r.key.toString().split("-")[1]);
        expect(r.timestamp).toBe(T0 + i);
      }
      expect(new Set(kept).size).toBe(2 * N);
    } finally {
      await log.close();
    }
  });
});
