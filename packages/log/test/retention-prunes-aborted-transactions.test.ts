import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ServiceLogClient } from "../src/client/service-log-client.js";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import { removeTempDirs, tempDir } from "./storage-helpers.js";
import { paddedRecord, readValues, sendEach } from "./transaction-test-helpers.js";

afterEach(removeTempDirs);

const HOUR = 3_600_000;

/** The `aborted <pid> <first> <marker>` lines of a partition's producer snapshot. */
function snapshotAborted(partitionDir: string): { firstOffset: number; lastOffset: number }[] {
  const text = fs.readFileSync(path.join(partitionDir, "producer.snapshot"), "latin1");
  return text
    .split("\n")
    .filter((l) => l.startsWith("aborted "))
    .map((l) => {
      const [, , first, last] = l.split(" ");
      return { firstOffset: Number(first), lastOffset: Number(last) };
    });
}

async function abortedInFetch(service: EmbeddedLogService, from: number) {
  const [fetched] = await service.fetch(
    [{ topic: "t", partition: 0, offset: from, maxBytes: 1 << 20 }],
    {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolation: "read_committed",
    },
  );
  return fetched!.abortedTransactions ?? [];
}

describe("the aborted-transactions index under retention", () => {
  it("forgets aborted transactions below the log start, in memory and in the producer snapshot, and reads stay right across restarts", async () => {
    const dir = tempDir();
    const partitionDir = path.join(dir, "t-0");
    // The log's clock (markers take their timestamps from it): moved ahead by hand, so the
    // first part's markers expire while the second part's records do not.
    let ahead = 0;
    const options = { maintenanceIntervalMs: 0, now: () => Date.now() + ahead };
    let service = await EmbeddedLogService.open(dir, options);
    let client = new ServiceLogClient(service);
    await client.admin.createTopic("t", {
      partitions: 1,
      config: { segmentBytes: 1024, retentionMs: HOUR, flushPolicy: "always" },
    });
    const txn = client.transactionalProducer({ transactionalId: "writer" });
    await txn.initTransactions();
    const plain = client.producer();
    // Expired: an aborted transaction, then plain records filling several segments.
    await txn.beginTransaction();
    await txn.send("t", [paddedRecord("gone-aborted", options.now())]);
    await txn.abortTransaction();
    await sendEach(
      plain,
      "t",
      Array.from({ length: 9 }, (_, i) => paddedRecord(`old${i}`, options.now())),
    );
    // Two hours later, kept: an aborted transaction, plain records, a committed one.
    ahead = 2 * HOUR;
    const now = options.now();
    await txn.beginTransaction();
    await txn.send("t", [paddedRecord("kept-aborted", now)]);
    await txn.abortTransaction();
    const kept = Array.from({ length: 4 }, (_, i) => `new${i}`);
    await sendEach(
      plain,
      "t",
      kept.map((v) => paddedRecord(v, now)),
    );
    await txn.beginTransaction();
    await txn.send("t", [paddedRecord("committed", now)]);
    await txn.commitTransaction();
    await txn.close();
    await plain.close();
    await client.close();
    // A snapshot from before retention, to stand for a crash between deleting segments
    // and writing the snapshot after it.
    const before = snapshotAborted(partitionDir);
    expect(before).toHaveLength(2);
    const staleSnapshot = fs.readFileSync(path.join(partitionDir, "producer.snapshot"));
    const [gone, keptAbort] = before as [
      { firstOffset: number; lastOffset: number },
      { firstOffset: number; lastOffset: number },
    ];

    service = await EmbeddedLogService.open(dir, options);
    client = new ServiceLogClient(service);
    ahead = 2.5 * HOUR;
    service.runMaintenance();
    let p = (await service.describeTopic("t")).partitions[0]!;
    const start = p.logStartOffset;
    const end = p.logEndOffset;
    // Retention took the first aborted transaction's marker, not the second's first batch.
    expect(start).toBeGreaterThan(gone.lastOffset);
    expect(start).toBeLessThanOrEqual(keptAbort.firstOffset);
    expect(snapshotAborted(partitionDir)).toEqual([keptAbort]);
    expect((await abortedInFetch(service, start)).map((a) => a.firstOffset)).toEqual([
      keptAbort.firstOffset,
    ]);
    const expected = [...kept, "committed"];
    const committedNow = await readValues(client, "t", "read_committed", start, end);
    expect(committedNow.filter((v) => !v.startsWith("old"))).toEqual(expected);
    // The aborted record is still in the log: only the index keeps readers from it.
    expect(await readValues(client, "t", "read_uncommitted", start, end)).toContain("kept-aborted");
    await client.close();

    // Restarted with the snapshot from before retention: the stale entry is dropped on open.
    fs.writeFileSync(path.join(partitionDir, "producer.snapshot"), staleSnapshot);
    service = await EmbeddedLogService.open(dir, options);
    client = new ServiceLogClient(service);
    p = (await service.describeTopic("t")).partitions[0]!;
    expect(p.logStartOffset).toBe(start);
    expect((await abortedInFetch(service, start)).map((a) => a.firstOffset)).toEqual([
      keptAbort.firstOffset,
    ]);
    expect(await readValues(client, "t", "read_committed", start, end)).toEqual(committedNow);
    await client.close();
    expect(snapshotAborted(partitionDir)).toEqual([keptAbort]);
  });
});
