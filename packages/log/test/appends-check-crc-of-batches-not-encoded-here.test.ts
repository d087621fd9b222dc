import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { formatBrokerAddress } from "../src/broker/broker-address.js";
import { RemoteLogService } from "../src/broker/remote-log-service.js";
import { startBroker } from "../src/broker/run-broker.js";
import { RecordBatchBuilder } from "../src/client/record-batch-builder.js";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import { CorruptRecordError } from "../src/errors.js";
import { encodeBatch, RecordBatch } from "../src/record-batch.js";
import { markEncodedHere } from "../src/record-batch-encoded-here.js";
import { tempDir } from "./broker-helpers.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function dir(): string {
  const d = tempDir("tributary-crc-");
  dirs.push(d);
  return d;
}

/** A valid batch with one value byte flipped: its stored CRC no longer matches. */
function corruptBatch(): Buffer {
  const batch = encodeBatch(
    Array.from({ length: 20 }, (_, i) => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.alloc(50, i),
    })),
  );
  batch[batch.length - 10]! ^= 0x40;
  expect(new RecordBatch(batch).isValid()).toBe(false);
  return batch;
}

describe("the CRC of an appended batch", () => {
  it("is checked for a batch handed to the embedded log by anyone but the producer that encoded it", async () => {
    const service = await EmbeddedLogService.open(dir(), { maintenanceIntervalMs: 0 });
    try {
      await service.createTopic("t", { partitions: 1 });
      const err = await service.produce("t", 0, corruptBatch()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CorruptRecordError);
      expect((err as Error).message).toMatch(/CRC mismatch/);
      // A caller's RecordBatchBuilder batch, stamped by no producer: its CRC field is
      // whatever the buffer held, and it is checked.
      const builder = new RecordBatchBuilder(4096);
      builder.append(Buffer.from("kv"), 0, 1, Buffer.from("kv"), 1, 2, Date.now());
      const unstamped = builder.finish();
      unstamped.fill(0xee, 17, 21); // the CRC field
      await expect(service.produce("t", 0, unstamped)).rejects.toThrow(/CRC mismatch/);
      expect((await service.listOffsets("t", "latest"))[0]!.offset).toBe(0);
    } finally {
      await service.close();
    }
  });

  it("is checked where a batch crosses a socket, even one its sender encoded itself", async () => {
    // Broker and client in one process: the producer's mark (the CRC was computed here)
    // must not travel with the bytes; the broker's copy of them is checked.
    const broker = await startBroker({ dataDir: dir(), address: "127.0.0.1:0" });
    const remote = await RemoteLogService.connect(formatBrokerAddress(broker.address));
    try {
      await remote.createTopic("t", { partitions: 1 });
      const err = await remote
        .produce("t", 0, markEncodedHere(corruptBatch()))
        .catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/CRC mismatch/);
      const good = markEncodedHere(encodeBatch([{ key: null, value: Buffer.from("ok") }]));
      expect((await remote.produce("t", 0, good)).baseOffset).toBe(0);
    } finally {
      await remote.close();
      await broker.stop();
    }
  });
});
