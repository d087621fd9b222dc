import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ServiceLogClient } from "../src/client/service-log-client.js";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import { type ChildProc, FIXTURES_DIR, spawnTs, tempDir } from "./broker-helpers.js";

/**
 * A process writing transactions is SIGKILLed; the partition's transaction state (open
 * transactions, the last stable offset, the aborted index) must come back as it was,
 * from the producer snapshot plus the log after it, or, with the snapshot lost, from a
 * scan of the whole log. The coordinator's state comes back too: the transaction left
 * open is still open, and the next instance of its producer aborts it.
 */
const procs: ChildProc[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function killedWriter(): Promise<string> {
  const dir = tempDir("txn-states");
  dirs.push(dir);
  const writer = spawnTs(path.join(FIXTURES_DIR, "transaction-states.ts"), [dir]);
  procs.push(writer);
  await writer.waitForLine((l) => l === "ready", "ready");
  writer.kill("SIGKILL");
  await writer.exited;
  return dir;
}

async function readKeys(
  client: ServiceLogClient,
  isolation: "read_committed" | "read_uncommitted",
  upTo: number,
): Promise<string[]> {
  const c = client.consumer({ isolation });
  const tp = { topic: "s", partition: 0 };
  c.assign([tp]);
  c.seek(tp, 0);
  const keys: string[] = [];
  const deadline = Date.now() + 60_000;
  while ((c.position(tp) ?? 0) < upTo && Date.now() < deadline) {
    for (const fp of await c.poll({ maxWaitMs: 100 })) {
      for (const r of fp.records) keys.push(r.key!.toString());
    }
  }
  await c.close();
  return keys;
}

describe("a partition's transaction state after SIGKILL", () => {
  for (const snapshot of ["kept", "lost"] as const) {
    it(`comes back whole with the producer snapshot ${snapshot}`, async () => {
      const dir = await killedWriter();
      const partitionDir = path.join(dir, "s-0");
      expect(fs.readdirSync(partitionDir).filter((f) => f.endsWith(".log")).length).toBeGreaterThan(
        2,
      );
      if (snapshot === "lost") fs.rmSync(path.join(partitionDir, "producer.snapshot"));
      const service = await EmbeddedLogService.open(dir, { maintenanceIntervalMs: 0 });
      const client = new ServiceLogClient(service);
      const d = await service.describeTopic("s");
      expect(d.partitions[0]!.logEndOffset).toBe(9);
      const [fetched] = await service.fetch(
        [{ topic: "s", partition: 0, offset: 0, maxBytes: 1 << 20 }],
        { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolation: "read_committed" },
      );
      // The open transaction's first offset (d0 at 7) holds read_committed back.
      expect(fetched!.lastStableOffset).toBe(7);
      expect(fetched!.abortedTransactions).toHaveLength(1);
      expect(fetched!.abortedTransactions![0]!.firstOffset).toBe(3);
      expect(await readKeys(client, "read_committed", 7)).toEqual(["a0", "a1", "c0"]);
      expect(await readKeys(client, "read_uncommitted", 9)).toEqual([
        "a0",
        "a1",
        "b0",
        "b1",
        "c0",
        "d0",
        "e0",
      ]);
      expect(service.transactionState("s-1")?.status).toBe("Ongoing");

      // The next instance fences the old one and aborts its open transaction.
      const next = client.transactionalProducer({ transactionalId: "s-1" });
      await next.initTransactions();
      expect(await readKeys(client, "read_committed", 10)).toEqual(["a0", "a1", "c0", "e0"]);
      await next.close();
      await client.close();
    });
  }
});
