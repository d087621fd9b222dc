import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../src/errors.js";
import { murmur2, toPositive } from "../src/client/murmur2.js";
import { StickyPartitioner, partitionForKey } from "../src/client/partitioner.js";

const utf8 = (s: string) => Buffer.from(s, "utf8");

describe("murmur2 is byte-for-byte Kafka's Utils.murmur2", () => {
  // Apache Kafka, clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java,
  // testMurmur2(): the expected values there, verbatim.
  const kafkaUtilsTest: [string | number[], number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    [[0x61, 0x62, 0x63], 479470107], // new byte[] {'a', 'b', 'c'}
  ];

  it("matches Kafka's UtilsTest.testMurmur2 values", () => {
    for (const [key, expected] of kafkaUtilsTest) {
      const bytes = typeof key === "string" ? utf8(key) : Buffer.from(key);
      expect(murmur2(bytes), String(key)).toBe(expected);
    }
  });

  // librdkafka, src/rdmurmur2.c, unittest_murmur2(): java_murmur2_results, which its
  // comment says were produced by the Java client; the keys at offsets 1..3 of the same
  // string test every tail length.
  const librdkafka: [string, number][] = [
    ["kafka", 0xd067cf64],
    ["giberish123456789", 0x8f552b0c],
    ["1234", 0x9fc97b14],
    ["234", 0xe7c009ca],
    ["34", 0x873930da],
    ["4", 0x5a4b5ca1],
    ["PreAmbleWillBeRemoved,ThePrePartThatIs", 0x78424f1c],
    ["reAmbleWillBeRemoved,ThePrePartThatIs", 0x4a62b377],
    ["eAmbleWillBeRemoved,ThePrePartThatIs", 0xe0e4e09e],
    ["AmbleWillBeRemoved,ThePrePartThatIs", 0x62b8b43f],
    ["", 0x106e08d9],
  ];

  it("matches librdkafka's Java-derived murmur2 values", () => {
    for (const [key, expected] of librdkafka) expect(murmur2(utf8(key)), key).toBe(expected | 0);
  });

  // Computed with Apache Kafka's own code: kafka-clients 3.7.0 from Maven Central,
  // Utils.murmur2(key.getBytes(UTF_8)) and Utils.toPositive(h) % n, run on a JVM.
  // [key, murmur2, partition of 3, of 12, of 100]
  const kafkaClients370: [string, number, number, number, number][] = [
    ["", 275646681, 0, 9, 81],
    ["a", -1563381124, 1, 4, 24],
    ["ab", 316155434, 2, 2, 34],
    ["abc", 479470107, 0, 3, 7],
    ["abcd", -1323649548, 2, 8, 0],
    ["abcde", 461995741, 1, 1, 41],
    ["key", -1079937367, 1, 1, 81],
    ["test", 716234879, 2, 11, 79],
    ["user-42", 1459644460, 1, 4, 60],
    ["order:1001", -387652882, 1, 10, 66],
    ["hello world", 1221641059, 1, 7, 59],
    ["\u00e9t\u00e9-\u65e5\u672c", 1580312863, 1, 7, 63],
    ["The quick brown fox jumps over the lazy dog", 495243318, 0, 6, 18],
  ];

  it("matches kafka-clients 3.7.0 for more keys, and partitions as its producer does", () => {
    for (const [key, h, p3, p12, p100] of kafkaClients370) {
      const bytes = utf8(key);
      expect(murmur2(bytes), key).toBe(h);
      expect(partitionForKey(bytes, 3), key).toBe(p3);
      expect(partitionForKey(bytes, 12), key).toBe(p12);
      expect(partitionForKey(bytes, 100), key).toBe(p100);
    }
  });

  it("matches kafka-clients 3.7.0 on high bytes (sign extension would break these)", () => {
    // Utils.murmur2 of n bytes of 0xff, and of the bytes 0..255, from the same JVM run.
    const ff = [
      275646681, -311467685, -1642832928, 1548199422, 644171429, -363838622, 28450676, -71293549,
    ];
    for (const [n, expected] of ff.entries()) {
      expect(murmur2(Buffer.alloc(n, 0xff)), `ff x${n}`).toBe(expected);
    }
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(murmur2(all)).toBe(-1948347274);
  });

  it("hashes a slice of a larger buffer without copying, as if it were the whole key", () => {
    const key = utf8("a-little-bit-longer-string");
    const big = Buffer.concat([utf8("xyz"), key, utf8("tail!")]);
    expect(murmur2(big, 3, 3 + key.length)).toBe(-1486304829);
    expect(murmur2(new Uint8Array(key))).toBe(-1486304829);
  });

  it("toPositive clears the sign bit like Kafka's (not Math.abs)", () => {
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-973932308)).toBe(-973932308 & 0x7fffffff);
    expect(toPositive(5)).toBe(5);
  });
});

describe("partitionForKey", () => {
  it("refuses a partition count that is not a positive integer", () => {
    for (const n of [0, -1, 1.5, Number.NaN]) {
      expect(() => partitionForKey(utf8("k"), n)).toThrow(InvalidArgumentError);
    }
  });

  it("always gives a partition in range", () => {
    for (let i = 0; i < 1000; i++) {
      const p = partitionForKey(utf8(`key-${i}`), 7);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(7);
    }
  });
});

describe("StickyPartitioner", () => {
  it("keeps one partition per topic within a send call", () => {
    const s = new StickyPartitioner();
    const first = s.partition("t", 8);
    for (let i = 0; i < 100; i++) expect(s.partition("t", 8)).toBe(first);
  });

  it("picks afresh on the next batch, never the previous partition when there is a choice", () => {
    // A fixed "random" source that always proposes the same partition shows the rule.
    const s = new StickyPartitioner(() => 0.5);
    const first = s.partition("t", 4);
    expect(first).toBe(2);
    s.nextBatch();
    expect(s.partition("t", 4)).toBe(3);
    s.nextBatch();
    expect(s.partition("t", 4)).toBe(2);
  });

  it("uses partition 0 for a one-partition topic, and re-picks when the topic shrank", () => {
    const s = new StickyPartitioner(() => 0.99);
    expect(s.partition("one", 1)).toBe(0);
    expect(s.partition("t", 10)).toBe(9);
    expect(s.partition("t", 5)).toBeLessThan(5);
  });

  it("spreads keyless batches over every partition", () => {
    const s = new StickyPartitioner();
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) {
      seen.add(s.partition("t", 6));
      s.nextBatch();
    }
    expect(seen.size).toBe(6);
  });
});
