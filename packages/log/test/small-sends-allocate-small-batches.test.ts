import { describe, expect, it } from "vitest";
import { encodeSend } from "../src/client/encode-send.js";

// A send's batches start at about what the send needs: one small record per send at
// 10,000 sends/s must not allocate a 64 KiB buffer each (640 MB/s of memory outside the
// pool, whose collections set the produce → consume p99 in the latency bench). A large
// send still starts at 64 KiB and grows to the batch size.
const MIB = 1024 * 1024;

describe("encodeSend", () => {
  it("starts a one-record send's batch in a small buffer", () => {
    const [b] = encodeSend(
      "t",
      [{ key: Buffer.from("k"), value: Buffer.alloc(100) }],
      1,
      0,
      MIB,
      1,
    );
    expect(b!.batch.length).toBeLessThan(300);
    // the memory behind it: a slice of Node's shared pool or a buffer of its own, never 64 KiB
    expect(b!.batch.buffer.byteLength).toBeLessThanOrEqual(Buffer.poolSize);
  });

  it("starts a large send's batch at 64 KiB and fills it to the batch size", () => {
    const records = Array.from({ length: 10_000 }, (_, i) => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.alloc(200),
    }));
    const batches = encodeSend("t", records, 1, 0, MIB, 1);
    expect(batches.length).toBe(3);
    expect(batches[0]!.batch.length).toBeGreaterThan(MIB - 300);
    expect(batches[0]!.batch.length).toBeLessThanOrEqual(MIB);
  });
});
