import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ServiceLogClient } from "../src/client/service-log-client.js";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import { removeTempDirs, tempDir } from "./storage-helpers.js";

afterEach(removeTempDirs);

const rec = (key: string, value: string) => ({
  key: Buffer.from(key),
  value: Buffer.from(`${value}:${"p".repeat(300)}`),
});

async function latestByKey(
  client: ServiceLogClient,
  isolation: "read_committed" | "read_uncommitted",
  end: number,
): Promise<{ values: string[]; latest: Record<string, string> }> {
  const c = client.consumer({ isolation });
  const tp = { topic: "table", partition: 0 };
  c.assign([tp]);
  c.seek(tp, 0);
  const values: string[] = [];
  const latest: Record<string, string> = {};
  const deadline = Date.now() + 60_000;
  while ((c.position(tp) ?? 0) < end && Date.now() < deadline) {
    for (const fp of await c.poll({ maxWaitMs: 100 })) {
      for (const r of fp.records) {
        const v = r.value!.toString().split(":")[0]!;
        values.push(v);
        latest[r.key!.toString()] = v;
      }
    }
  }
  await c.close();
  return { values, latest };
}

describe("compaction of a topic written in transactions", () => {
  it("compacts committed transactional records, never lets an aborted one supersede a committed one, and keeps the markers", async () => {
    const dir = tempDir();
    let service = await EmbeddedLogService.open(dir, { maintenanceIntervalMs: 0 });
    let client = new ServiceLogClient(service);
    await client.admin.createTopic("table", {
      partitions: 1,
      config: { cleanupPolicy: "compact", segmentBytes: 1024, flushPolicy: "always" },
    });
    const plain = client.producer();
    await plain.send("table", [rec("k", "v1")]);
    const p = client.transactionalProducer({ transactionalId: "table-writer" });
    await p.initTransactions();
    await p.beginTransaction();
    await p.send("table", [rec("k", "v2-aborted")]);
    await p.abortTransaction();
    await p.beginTransaction();
    await p.send("table", [rec("j", "w1")]);
    await p.commitTransaction();
    await plain.send("table", [rec("j", "w2")]);
    // More plain records, so the segments above are sealed and compacted.
    for (let i = 0; i < 12; i++) await plain.send("table", [rec(`f${i % 3}`, `x${i}`)]);
    await p.close();
    const before = (await service.describeTopic("table")).partitions[0]!;
    service.runMaintenance();
    const after = (await service.describeTopic("table")).partitions[0]!;
    expect(after.sizeBytes).toBeLessThan(before.sizeBytes); // compaction did run
    const end = after.logEndOffset;

    const committed = await latestByKey(client, "read_committed", end);
    expect(committed.latest.k).toBe("v1");
    expect(committed.latest.j).toBe("w2");
    expect(committed.values).not.toContain("v2-aborted");
    // The aborted transaction's batch was kept whole: still there, uncommitted. The
    // committed one compacted like any record: w1, superseded by w2, is gone.
    const uncommitted = (await latestByKey(client, "read_uncommitted", end)).values;
    expect(uncommitted).toContain("v2-aborted");
    expect(uncommitted).not.toContain("w1");
    await client.close();

    // With the snapshot gone, the state is rebuilt from the compacted log: its markers
    // were kept, so no transaction is left looking open.
    fs.rmSync(path.join(dir, "table-0", "producer.snapshot"));
    service = await EmbeddedLogService.open(dir, { maintenanceIntervalMs: 0 });
    client = new ServiceLogClient(service);
    const [fetched] = await service.fetch(
      [{ topic: "table", partition: 0, offset: 0, maxBytes: 1 << 20 }],
      { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolation: "read_committed" },
    );
    expect(fetched!.lastStableOffset).toBe(end);
    expect((await latestByKey(client, "read_committed", end)).latest.k).toBe("v1");
    await client.close();
  });
});
