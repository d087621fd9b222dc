import { describe, expect, it } from "vitest";
import { type Frame, FrameDecoder, encodeFrameHeader } from "../src/broker/frame-codec.js";
import { ProtocolError } from "../src/errors.js";

function frame(correlationId: number, apiKey: number, body: Buffer): Buffer {
  return Buffer.concat([encodeFrameHeader(correlationId, apiKey, body.length), body]);
}

function decodeAll(decoder: FrameDecoder, chunks: Buffer[]): Frame[] {
  const out: Frame[] = [];
  for (const c of chunks) decoder.push(c, (f) => out.push({ ...f, body: Buffer.from(f.body) }));
  return out;
}

describe("frame codec", () => {
  it("decodes frames however the stream is cut: whole, byte by byte, many per chunk", () => {
    const frames = [
      frame(1, 7, Buffer.from("hello")),
      frame(2, 8, Buffer.alloc(0)),
      frame(0xffffffff, 255, Buffer.alloc(70_000, 0xab)),
    ];
    const stream = Buffer.concat(frames);
    const cuts: Buffer[][] = [
      [stream],
      [...stream].map((b) => Buffer.from([b])),
      [
        stream.subarray(0, 3),
        stream.subarray(3, 11),
        stream.subarray(11, 20000),
        stream.subarray(20000),
      ],
    ];
    for (const chunks of cuts) {
      const got = decodeAll(new FrameDecoder(1 << 20), chunks);
      expect(got.map((f) => [f.correlationId, f.apiKey, f.body.length])).toEqual([
        [1, 7, 5],
        [2, 8, 0],
        [0xffffffff, 255, 70_000],
      ]);
      expect(got[0]!.body.toString()).toBe("hello");
      expect(got[2]!.body.every((b) => b === 0xab)).toBe(true);
    }
  });

  it("refuses a 4 GiB length prefix from its four bytes, before any allocation", () => {
    const decoder = new FrameDecoder(64 * 1024 * 1024);
    const prefix = Buffer.from([0xff, 0xff, 0xff, 0xff]);
    expect(() => decoder.push(prefix, () => {})).toThrowError(
      expect.objectContaining({ code: "FRAME_TOO_LARGE" }),
    );
    // Nothing was reserved for the body: only the 4 prefix bytes are held.
    expect(decoder.bufferedBytes).toBe(4);
  });

  it("refuses a length shorter than the header as malformed", () => {
    const decoder = new FrameDecoder();
    const bad = Buffer.from([0, 0, 0, 2, 1, 2]);
    let caught: unknown;
    try {
      decoder.push(bad, () => {});
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ProtocolError);
    expect((caught as ProtocolError).code).toBe("MALFORMED_FRAME");
  });

  it("holds a frame cut mid-way until the rest arrives", () => {
    const decoder = new FrameDecoder();
    const whole = frame(9, 3, Buffer.from("abcdefgh"));
    const got: Frame[] = [];
    decoder.push(whole.subarray(0, 10), (f) => got.push(f));
    expect(got).toEqual([]);
    expect(decoder.bufferedBytes).toBeGreaterThan(0);
    decoder.push(whole.subarray(10), (f) => got.push(f));
    expect(got.map((f) => f.body.toString())).toEqual(["abcdefgh"]);
    expect(decoder.bufferedBytes).toBe(0);
  });
});
