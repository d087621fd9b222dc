import { afterEach, describe, expect, it } from "vitest";
import { ServiceLogClient } from "../src/client/service-log-client.js";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import { removeTempDirs, tempDir } from "./storage-helpers.js";
import { paddedRecord, readValues, sendEach } from "./transaction-test-helpers.js";

afterEach(removeTempDirs);

const HOUR = 3_600_000;

describe("retention and an open transaction", () => {
  it("never deletes the segments of a transaction still open: committed later, a read_committed reader sees all of it", async () => {
    const dir = tempDir();
    const service = await EmbeddedLogService.open(dir, { maintenanceIntervalMs: 0 });
    const client = new ServiceLogClient(service);
    try {
      await client.admin.createTopic("t", {
        partitions: 1,
        config: { segmentBytes: 1024, retentionMs: HOUR, flushPolicy: "always" },
      });
      // Every record is older than retention.ms: only the open transaction holds them back.
      const old = Date.now() - 2 * HOUR;
      const plain = client.producer();
      const before = Array.from({ length: 8 }, (_, i) => `before${i}`);
      await sendEach(
        plain,
        "t",
        before.map((v) => paddedRecord(v, old)),
      );
      const txnFirst = (await service.describeTopic("t")).partitions[0]!.logEndOffset;
      const txn = client.transactionalProducer({ transactionalId: "slow-writer" });
      await txn.initTransactions();
      await txn.beginTransaction();
      const inTxn = Array.from({ length: 6 }, (_, i) => `txn${i}`);
      // The transaction's records alternate with plain ones, so its batches span segments.
      const after: string[] = [];
      for (const [i, v] of inTxn.entries()) {
        await txn.send("t", [paddedRecord(v, old)]);
        after.push(`after${i}`);
        await plain.send("t", [paddedRecord(`after${i}`, old)]);
      }
      const describe = async () => (await service.describeTopic("t")).partitions[0]!;

      service.runMaintenance();
      const held = await describe();
      // Retention ran (the plain records before the transaction went) but stopped at the
      // segment holding the transaction's first batch.
      expect(held.logStartOffset).toBeGreaterThan(0);
      expect(held.logStartOffset).toBeLessThanOrEqual(txnFirst);

      await txn.commitTransaction();
      await txn.close();
      const end = (await describe()).logEndOffset;
      const committed = await readValues(client, "t", "read_committed", held.logStartOffset, end);
      expect(committed.filter((v) => v.startsWith("txn"))).toEqual(inTxn);
      expect(committed.filter((v) => v.startsWith("after"))).toEqual(after);
      // One offset per record, from 0: what retention kept of the plain records before.
      expect(committed.filter((v) => v.startsWith("before"))).toEqual(
        before.slice(held.logStartOffset),
      );

      // Committed, the transaction no longer holds retention back: everything expired goes.
      service.runMaintenance();
      const freed = await describe();
      expect(freed.logStartOffset).toBeGreaterThan(txnFirst);
      await plain.close();
    } finally {
      await client.close();
    }
  });
});
