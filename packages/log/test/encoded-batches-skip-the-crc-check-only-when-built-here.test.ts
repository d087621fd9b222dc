import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { connectBroker } from "../src/broker/connect-broker.js";
import { formatBrokerAddress } from "../src/broker/broker-address.js";
import { RemoteLogService } from "../src/broker/remote-log-service.js";
import { startBroker } from "../src/broker/run-broker.js";
import { RecordBatchBuilder } from "../src/client/record-batch-builder.js";
import { openEmbeddedLog } from "../src/embedded-log.js";
import { CorruptRecordError } from "../src/errors.js";
import { isBuiltHere, isEncodedHere } from "../src/record-batch-encoded-here.js";
import { tempDir } from "./broker-helpers.js";
import { ENCODED_PARTITIONS, expectedRecord } from "./encoded-batch-records.js";
import { checkStoredBatches, readEncodedTopic } from "./encoded-batch-read-back.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function dir(): string {
  const d = tempDir("tributary-encoded-");
  dirs.push(d);
  return d;
}

/** Records [first, end) of `run`, one RecordBatchBuilder per partition, split at `cap` bytes. */
function buildBatches(
  run: number,
  first: number,
  end: number,
  cap: number,
): { partition: number; batch: Buffer }[] {
  const open: (RecordBatchBuilder | undefined)[] = [];
  const out: { partition: number; batch: Buffer }[] = [];
  for (let i = first; i < end; i++) {
    const r = expectedRecord(run, i);
    let b = open[r.partition] ?? new RecordBatchBuilder(cap, 256);
    if (!b.appendParts(r.key, r.value, 1_800_000_000_000 + i, r.headers)) {
      out.push({ partition: r.partition, batch: b.finish() });
      b = new RecordBatchBuilder(cap, 256);
      b.appendParts(r.key, r.value, 1_800_000_000_000 + i, r.headers);
    }
    open[r.partition] = b;
  }
  open.forEach((b, partition) => {
    if (b !== undefined) out.push({ partition, batch: b.finish() });
  });
  return out;
}

describe("sendEncoded's batches on the embedded log", () => {
  it("skip the append's CRC check only for a builder's own buffer, and land whole, in order, with gapless sequences", async () => {
    const dataDir = dir();
    const log = await openEmbeddedLog(dataDir, { maintenanceIntervalMs: 0 });
    let sent = 0;
    try {
      await log.admin.createTopic("enc", { partitions: ENCODED_PARTITIONS });
      const producer = log.producer();
      // Sends of varied sizes, batches capped at 2 KiB: most partitions get several
      // batches per send, their records split at the cap.
      const calls: { partition: number; batch: Buffer }[][] = [];
      for (let first = 0; first < 3000; first += 100 + (first % 170)) {
        const end = Math.min(3000, first + 100 + (first % 170));
        const batches = buildBatches(0, first, end, 2048);
        expect(batches.every((b) => isBuiltHere(b.batch))).toBe(true);
        calls.push(batches);
        sent = end;
      }
      // A copy of a builder's batch is not the builder's buffer: it is sent, stamped,
      // and checked on append like any caller's bytes.
      const copied = calls[3]!.map(({ partition, batch }) => ({
        partition,
        batch: Buffer.from(batch),
      }));
      calls[3] = copied;
      // Two calls at a time in flight: each still queues behind the one before.
      for (let c = 0; c < calls.length; c += 2) {
        await Promise.all(calls.slice(c, c + 2).map((b) => producer.sendEncoded!("enc", b)));
      }
      for (const [c, batches] of calls.entries()) {
        for (const { batch } of batches) expect(isEncodedHere(batch)).toBe(c !== 3);
      }
      expect(calls[0]!.length).toBeGreaterThan(ENCODED_PARTITIONS);
      await producer.close();
    } finally {
      await log.close();
    }
    // Reopened, the log reads every batch back through its CRC check.
    const reopened = await openEmbeddedLog(dataDir, { maintenanceIntervalMs: 0 });
    try {
      const got = await readEncodedTopic(reopened, "enc");
      for (let p = 0; p < ENCODED_PARTITIONS; p++) {
        const want: number[] = [];
        for (let i = 0; i < sent; i++) if (expectedRecord(0, i).partition === p) want.push(i);
        expect(got[p]!.map((r) => r.i)).toEqual(want);
      }
    } finally {
      await reopened.close();
    }
    expect(checkStoredBatches(dataDir, "enc")).toBeGreaterThan(60);
  });

  it("is refused by a broker, over a real socket, when corrupt, though it was stamped and marked here", async () => {
    const broker = await startBroker({ dataDir: dir(), address: "127.0.0.1:0" });
    const address = formatBrokerAddress(broker.address);
    const client = await connectBroker(address);
    const remote = await RemoteLogService.connect(address);
    try {
      await client.admin.createTopic("enc", { partitions: ENCODED_PARTITIONS });
      const producer = client.producer();
      const batches = buildBatches(1, 0, 200, 4096);
      const acks = await producer.sendEncoded!("enc", batches);
      expect(acks.reduce((n, a) => n + a.lastOffset - a.baseOffset + 1, 0)).toBe(200);
      // The client's producer stamped it and marked it as encoded here; the mark stays
      // in this process, the broker checks the bytes it received.
      const { partition, batch } = batches[0]!;
      expect(isEncodedHere(batch)).toBe(true);
      const before = (await client.admin.listOffsets("enc", "latest"))[partition]!.offset;
      batch[batch.length - 3]! ^= 0x10;
      const err = await remote.produce("enc", partition, batch).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CorruptRecordError);
      expect((err as Error).message).toMatch(/CRC mismatch/);
      expect((await client.admin.listOffsets("enc", "latest"))[partition]!.offset).toBe(before);
      await producer.close();
    } finally {
      await remote.close();
      await client.close();
      await broker.stop();
    }
  });
});
