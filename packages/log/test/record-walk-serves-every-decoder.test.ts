import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fetchedRecords } from "../src/client/fetched-records.js";
import { CorruptRecordError } from "../src/errors.js";
import { NO_HEADERS, type ProducerRecord } from "../src/record.js";
import {
  encodeBatch,
  LEGACY_MAGIC,
  RecordBatch,
  splitBatches,
  TRANSACTIONAL_FLAG,
} from "../src/record-batch.js";
import { forEachKeyValue } from "../src/record-batch-key-values.js";

/**
 * RecordBatch.walk is the one record walk behind forEach, records(), the consumer's fetch
 * decoding and restore's forEachKeyValue. Expected values here come from the records as
 * written (or, for the magic-1 fixture, from what its script wrote), never from a decoder.
 */

type Walked = {
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
  headers: Record<string, string>;
};

function walked(batch: RecordBatch, withHeaders: boolean): Walked[] {
  const out: Walked[] = [];
  batch.walk(withHeaders, (offset, key, value, timestamp, headers) => {
    out.push({
      offset,
      key: key === null ? null : key.toString(),
      value: value === null ? null : value.toString(),
      timestamp,
      headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.toString()])),
    });
  });
  return out;
}

const written: ProducerRecord[] = [
  { key: Buffer.from("a"), value: Buffer.from("1"), timestamp: 1 },
  // decades after the first: a six-byte varlong timestamp delta
  { key: Buffer.from("b"), value: null, timestamp: 1_800_000_000_000 },
  { key: null, value: Buffer.from("keyless"), timestamp: 5, headers: { hk: "x" } },
  { key: Buffer.from(""), value: Buffer.from(""), timestamp: 6, headers: { h1: "y", h2: "zz" } },
];

function expected(baseOffset: number, withHeaders: boolean): Walked[] {
  return written.map((r, i) => ({
    offset: baseOffset + i,
    key: r.key === null || r.key === undefined ? null : r.key.toString(),
    value: r.value === null ? null : r.value.toString(),
    timestamp: r.timestamp!,
    headers: withHeaders
      ? Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k, v.toString()]))
      : {},
  }));
}

describe("one record walk for every decoder", () => {
  it("hands on offset, key, value, timestamp and headers as written; without headers, NO_HEADERS", () => {
    const batch = new RecordBatch(encodeBatch(written, { baseOffset: 70 }));
    expect(walked(batch, true)).toEqual(expected(70, true));
    expect(walked(batch, false)).toEqual(expected(70, false));
    batch.walk(false, (_o, _k, _v, _t, headers) => expect(headers).toBe(NO_HEADERS));
    // forEach, records() and forEachKeyValue are the same walk
    const viaForEach: number[] = [];
    batch.forEach((r) => {
      viaForEach.push(r.offset);
    });
    expect(viaForEach).toEqual([70, 71, 72, 73]);
    expect(batch.records().map((r) => r.timestamp)).toEqual(written.map((r) => r.timestamp));
    const kv: [number, string | null][] = [];
    forEachKeyValue(batch, (o, k) => kv.push([o, k === null ? null : k.toString()]));
    expect(kv).toEqual([
      [70, "a"],
      [71, "b"],
      [72, null],
      [73, ""],
    ]);
  });

  it("refuses headers that overrun their record when it reads them, and skips them by length when it does not", () => {
    const bytes = encodeBatch(written.slice(2, 3), { baseOffset: 0 });
    // header count 1 (zigzag varint 2) right before the key "hk" (length varint 4): claim 2
    const at = bytes.indexOf(Buffer.from("hk"));
    expect([bytes[at - 2], bytes[at - 1]]).toEqual([2, 4]);
    bytes[at - 2] = 4;
    const batch = new RecordBatch(bytes);
    expect(() => walked(batch, true)).toThrow(CorruptRecordError);
    expect(() => batch.records()).toThrow(CorruptRecordError);
    expect(walked(batch, false).map((r) => r.value)).toEqual(["keyless"]);
  });

  it("walks the magic-1 batches of a data directory written before Kafka's format", () => {
    // fixtures/magic1-data-dir.make.mjs wrote to events-0 the records i = 0, 2, … 18:
    const want = [];
    for (let i = 0; i < 20; i += 2) {
      want.push({
        key: i % 5 === 0 ? null : `k${i}`,
        value: i % 7 === 3 ? null : `v${i}`,
        timestamp: 1_700_000_000_000 + (i % 3 === 0 ? -i * 1000 : i),
        headers: i % 4 === 0 ? { h: `x${i}` } : {},
      });
    }
    const segment = fs.readFileSync(
      path.join(
        import.meta.dirname,
        "fixtures",
        "magic1-data-dir",
        "events-0",
        "00000000000000000000.log",
      ),
    );
    const { batches } = splitBatches(segment);
    const withHeaders: Walked[] = [];
    const without: Walked[] = [];
    for (const b of batches) {
      expect(b.magic).toBe(LEGACY_MAGIC);
      withHeaders.push(...walked(b, true));
      without.push(...walked(b, false));
    }
    // the fixture's binary header "bin" is left out of the comparison: its bytes are not text
    const plain = (w: Walked) => ({
      key: w.key,
      value: w.value,
      timestamp: w.timestamp,
      headers: Object.fromEntries(Object.entries(w.headers).filter(([k]) => k !== "bin")),
    });
    expect(withHeaders.slice(0, want.length).map(plain)).toEqual(want);
    expect(withHeaders.slice(0, want.length).map((w) => w.offset)).toEqual(want.map((_, i) => i));
    expect(without.slice(0, want.length).map(plain)).toEqual(
      want.map((w) => ({ ...w, headers: {} })),
    );
  });

  it("gives the consumer the records from its position on, none of an aborted transaction, with no holes", () => {
    const first = encodeBatch(written, { baseOffset: 0 });
    const aborted = encodeBatch(written, {
      baseOffset: 4,
      producerId: 9,
      producerEpoch: 0,
      baseSequence: 0,
      attributes: TRANSACTIONAL_FLAG,
    });
    const last = encodeBatch(written.slice(0, 2), { baseOffset: 8 });
    const response = {
      topic: "t",
      partition: 0,
      records: Buffer.concat([first, aborted, last]),
      highWatermark: 10,
      logStartOffset: 0,
      abortedTransactions: [{ producerId: 9, firstOffset: 4 }],
    };
    const committed = fetchedRecords(response, 2, true, "read_committed");
    expect(committed.next).toBe(10);
    expect(committed.records.length).toBe(4);
    expect(committed.records.map((r) => r.offset)).toEqual([2, 3, 8, 9]);
    expect(committed.records.map((r) => r.value?.toString() ?? null)).toEqual([
      "keyless",
      "",
      "1",
      null,
    ]);
    expect(committed.records[0]!.headers.hk?.toString()).toBe("x");
    const all = fetchedRecords(response, 3, true, "read_uncommitted");
    expect(all.records.map((r) => r.offset)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(Object.keys(all.records)).toHaveLength(7);
  });
});
