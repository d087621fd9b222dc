import { describe, expect, it } from "vitest";
import { RecordBatchBuilder, stampProducer } from "../src/client/record-batch-builder.js";
import { encodeBatch } from "../src/record-batch.js";

/** A deterministic pseudo-random sequence (xorshift32), so a failure repeats. */
function random(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** Writes `key` and `value` into the builder's buffer where the caller of commitInPlace would. */
function writeInPlace(b: RecordBatchBuilder, key: Buffer, value: Buffer, slack: number[]) {
  const keyStart = b.inPlaceKeyAt + slack[0]!;
  key.copy(b.buffer, keyStart);
  const valueStart = keyStart + key.length + b.inPlaceGap + slack[1]!;
  value.copy(b.buffer, valueStart);
  return {
    keyStart,
    keyEnd: keyStart + key.length,
    valueStart,
    valueEnd: valueStart + value.length,
  };
}

describe("RecordBatchBuilder, records written in place", () => {
  it("make byte for byte the batch encodeBatch makes, whatever the varint sizes", () => {
    const next = random(7);
    const builder = new RecordBatchBuilder(4 << 20, 4 << 20);
    const records: { key: Buffer; value: Buffer; timestamp: number }[] = [];
    const ts = 1_796_000_000_000;
    for (let i = 0; i < 400; i++) {
      // Lengths that cross the varints' 1/2/3-byte steps both ways from one record to the
      // next, so the builder's guesses are wrong often, too small and too big.
      const key = Buffer.alloc([0, 5, 63, 64, 200][next(5)]!, 0x30 + (i % 10));
      const value = Buffer.alloc([0, 1, 63, 64, 330, 8191, 8192, 20000][next(8)]!, 0x61 + (i % 26));
      const timestamp = ts + [0, 1, 1000, 100_000_000][next(4)]!;
      // In-place writers may leave more room than guessed; some tests put nothing in it.
      const slack = [next(3) === 0 ? next(7) : 0, next(3) === 0 ? next(7) : 0];
      const at = writeInPlace(builder, key, value, slack);
      expect(
        builder.commitInPlace(at.keyStart, at.keyEnd, at.valueStart, at.valueEnd, timestamp),
      ).toBe(true);
      records.push({ key, value, timestamp });
    }
    const built = Buffer.from(builder.finish());
    const stamp = { producerId: 9, producerEpoch: 1, baseSequence: 77 };
    stampProducer(built, stamp);
    expect(built.equals(encodeBatch(records, stamp))).toBe(true);
  });

  it("grows a small buffer keeping a record written up to its end", () => {
    const builder = new RecordBatchBuilder(1 << 20, 256);
    const key = Buffer.from('{"id":1}');
    // The value ends at the buffer's last byte: the record's last byte needs one more.
    const room = builder.buffer.length - (builder.inPlaceKeyAt + key.length + builder.inPlaceGap);
    const value = Buffer.alloc(room, 0x62);
    const at = writeInPlace(builder, key, value, [0, 0]);
    expect(builder.commitInPlace(at.keyStart, at.keyEnd, at.valueStart, at.valueEnd, 5)).toBe(true);
    expect(builder.buffer.length).toBeGreaterThan(256);
    const built = Buffer.from(builder.finish());
    stampProducer(built, null);
    expect(built.equals(encodeBatch([{ key, value, timestamp: 5 }]))).toBe(true);
  });

  it("refuses a record past the capacity, appending nothing; append takes it into the next batch", () => {
    const builder = new RecordBatchBuilder(4096, 4096);
    const records: { key: Buffer; value: Buffer; timestamp: number }[] = [];
    for (let i = 0; ; i++) {
      const key = Buffer.from(`{"id":${i}}`);
      // The fourth ends at the buffer's (= the capacity's) last byte: its own last byte is past.
      const room = 4096 - (builder.inPlaceKeyAt + key.length + builder.inPlaceGap);
      const value = Buffer.alloc(Math.min(1000, room), 0x41 + i);
      const at = writeInPlace(builder, key, value, [0, 0]);
      const count = builder.count;
      if (!builder.commitInPlace(at.keyStart, at.keyEnd, at.valueStart, at.valueEnd, 5)) {
        expect(builder.count).toBe(count);
        const next = new RecordBatchBuilder(4096, 4096);
        const buf = builder.buffer;
        expect(next.append(buf, at.keyStart, at.keyEnd, buf, at.valueStart, at.valueEnd, 5)).toBe(
          true,
        );
        const nextBatch = Buffer.from(next.finish());
        stampProducer(nextBatch, null);
        expect(nextBatch.equals(encodeBatch([{ key, value, timestamp: 5 }]))).toBe(true);
        break;
      }
      records.push({ key, value, timestamp: 5 });
    }
    expect(records.length).toBe(3);
    const built = Buffer.from(builder.finish());
    stampProducer(built, null);
    expect(built.equals(encodeBatch(records))).toBe(true);
  });
});
