import path from "node:path";
import { type LogClient, openEmbeddedLog, type ProducerRecord } from "@tributary/log";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { restoreFromChangelog } from "../src/changelog-restorer.js";
import { RocksDbEngine } from "../src/rocksdb/rocksdb-engine.js";
import { removeDir, tempDir } from "./helpers.js";
import { countingBatchReaders, withoutBatchReader } from "./restore-scenario.js";

const HOUR = 3_600_000;

function puts(from: number, count: number, value: string, timestamp: number): ProducerRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`k${from + i}`),
    value: Buffer.from(`${value}${from + i}`),
    timestamp,
    partition: 0,
  }));
}

/**
 * A store whose stored changelog offset retention has since deleted: restore reads on from
 * the changelog's start (what is left of it), not from its end, and stores the end offset.
 */
describe("restore behind the changelog's retention", () => {
  let root: string;
  beforeEach(() => {
    root = tempDir("retention-restore");
  });
  afterEach(() => removeDir(root));

  it.each([
    ["the batch reader", (log: LogClient) => countingBatchReaders(log), 2],
    ["a consumer", (log: LogClient) => ({ client: withoutBatchReader(log), opened: () => 0 }), 0],
  ])(
    "resumes at the log start when the stored offset was deleted, reading through %s",
    async (_, wrap, readers) => {
      let ahead = 0;
      const log = await openEmbeddedLog(path.join(root, "log"), {
        now: () => Date.now() + ahead,
        maintenanceIntervalMs: 100,
      });
      const engine = await RocksDbEngine.open(path.join(root, "store"), "kv");
      try {
        await log.admin.createTopic("cl", {
          partitions: 1,
          config: { retentionMs: HOUR, segmentBytes: 2048 },
        });
        const producer = log.producer();
        const written: ProducerRecord[] = puts(0, 20, "a", Date.now());
        await producer.send("cl", written);
        const client = wrap(log);
        await restoreFromChangelog(engine, { client: client.client, topic: "cl", partition: 0 });
        expect(engine.changelogOffset).toBe(20);

        // Overwrites of k0..k99 arrive while the store is away; two hours on, retention
        // deletes the old segments, past the offset the store holds.
        for (let b = 0; b < 10; b++) {
          const more = puts(b * 10, 10, "b", Date.now());
          await producer.send("cl", more);
          written.push(...more);
        }
        ahead = 2 * HOUR;
        let logStart = 0;
        for (const deadline = Date.now() + 120_000; logStart <= 20; ) {
          if (Date.now() > deadline) throw new Error("retention did not delete past offset 20");
          logStart = (await log.admin.listOffsets("cl", "earliest"))[0]!.offset;
          await new Promise((r) => setTimeout(r, 100));
        }
        const last = puts(5, 10, "c", Date.now() + ahead);
        await producer.send("cl", last);
        written.push(...last);
        await producer.close();

        const result = await restoreFromChangelog(engine, {
          client: client.client,
          topic: "cl",
          partition: 0,
        });
        // One batch reader per restore, or none when the client has no reader.
        expect(client.opened()).toBe(readers);
        expect(result.from).toBe(20);
        expect(engine.changelogOffset).toBe(written.length);

        // Expected: the first restore's state, then every record from the log start on.
        const expected = new Map<string, string>();
        for (const [offset, r] of written.entries()) {
          if (offset < 20 || offset >= logStart) {
            expected.set(r.key!.toString(), r.value!.toString());
          }
        }
        const contents = new Map<string, string>();
        for await (const e of engine.range()) contents.set(e.key.toString(), e.value.toString());
        expect(contents).toEqual(expected);
        expect(result.records).toBe(written.length - logStart);
      } finally {
        await engine.close();
        await log.close();
      }
    },
    180_000,
  );
});
