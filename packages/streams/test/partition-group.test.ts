import { type LogRecord, type TopicPartition, topicPartitionKey } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { PartitionGroup, type SourceRun } from "../src/runtime/partition-group.js";

const A = { topic: "a", partition: 0 };
const B = { topic: "b", partition: 0 };
const keyA = topicPartitionKey("a", 0);
const keyB = topicPartitionKey("b", 0);

/** Records at these timestamps, offsets from `first`, each with a 10-byte value. */
function records(first: number, times: number[]): LogRecord[] {
  return times.map((timestamp, i) => ({
    offset: first + i,
    timestamp,
    key: null,
    value: Buffer.alloc(10),
    headers: {},
  }));
}

function group(lags: Map<string, number | undefined>, maxTaskIdleMs = 0, maxQueuedBytes = 1000) {
  return new PartitionGroup(
    [
      { tp: A, timeOf: null },
      { tp: B, timeOf: null },
    ],
    {
      maxTaskIdleMs,
      maxQueuedBytes,
      lagOf: (tp: TopicPartition) => lags.get(topicPartitionKey(tp.topic, tp.partition)),
    },
  );
}

const flat = (runs: SourceRun[] | null) =>
  (runs ?? []).flatMap((r) => r.records.map((x) => `${r.topic}@${x.timestamp}`));

describe("PartitionGroup: a task's input partitions in time order", () => {
  it("hands out records by the smallest head timestamp across partitions, in runs per partition", () => {
    const g = group(
      new Map([
        [keyA, 0],
        [keyB, 0],
      ]),
    );
    g.add(keyA, records(0, [1, 2, 5, 9]));
    g.add(keyB, records(100, [3, 4, 6]));
    const runs = g.nextBatch(0, 100);
    expect(flat(runs)).toEqual(["a@1", "a@2", "b@3", "b@4", "a@5", "b@6", "a@9"]);
    expect(runs!.map((r) => r.topic)).toEqual(["a", "b", "a", "b", "a"]);
    expect(g.buffered()).toBe(0);
  });

  it("waits for an empty partition that is behind its log end or whose lag is unknown, and goes on once it is caught up", () => {
    const lags = new Map<string, number | undefined>([
      [keyA, 0],
      [keyB, 5],
    ]);
    const g = group(lags);
    g.add(keyA, records(0, [1, 2, 3]));
    expect(g.nextBatch(0, 100)).toBeNull();
    lags.set(keyB, undefined);
    expect(g.nextBatch(0, 100)).toBeNull();
    expect(g.unknownLag()).toEqual([B]);
    // nothing processed: the commit stays at the first buffered record
    expect(g.firstBufferedOffset(keyA)).toBe(0);
    lags.set(keyB, 0);
    expect(flat(g.nextBatch(0, 100))).toEqual(["a@1", "a@2", "a@3"]);
    expect(g.firstBufferedOffset(keyA)).toBeUndefined();
  });

  it("stops a batch where a partition runs dry while more of it is on the log", () => {
    const lags = new Map<string, number | undefined>([
      [keyA, 0],
      [keyB, 7],
    ]);
    const g = group(lags);
    g.add(keyA, records(0, [1, 5, 9]));
    g.add(keyB, records(40, [2, 3]));
    expect(flat(g.nextBatch(0, 100))).toEqual(["a@1", "b@2", "b@3"]);
    expect(g.nextBatch(0, 100)).toBeNull();
    expect(g.firstBufferedOffset(keyA)).toBe(1);
    g.add(keyB, records(42, [4]));
    expect(flat(g.nextBatch(0, 100))).toEqual(["b@4"]);
  });

  it("waits maxTaskIdleMs for a caught-up empty partition before going on without it", () => {
    const g = group(
      new Map([
        [keyA, 0],
        [keyB, 0],
      ]),
      500,
    );
    g.add(keyA, records(0, [1]));
    expect(g.nextBatch(1000, 100)).toBeNull();
    expect(g.nextBatch(1499, 100)).toBeNull();
    expect(flat(g.nextBatch(1500, 100))).toEqual(["a@1"]);
  });

  it("never waits with a negative maxTaskIdleMs", () => {
    const g = group(
      new Map([
        [keyA, 0],
        [keyB, 9],
      ]),
      -1,
    );
    g.add(keyA, records(0, [1]));
    expect(flat(g.nextBatch(0, 100))).toEqual(["a@1"]);
  });

  it("hands out at most `max` records per batch", () => {
    const g = group(
      new Map([
        [keyA, 0],
        [keyB, 0],
      ]),
    );
    g.add(keyA, records(0, [1, 2, 3, 4, 5]));
    expect(flat(g.nextBatch(0, 2))).toEqual(["a@1", "a@2"]);
    expect(g.firstBufferedOffset(keyA)).toBe(2);
  });

  it("takes across fetch chunks and stops mid-chunk at the other head or at max, as one record at a time would", () => {
    const g = group(
      new Map([
        [keyA, 0],
        [keyB, 0],
      ]),
    );
    // A's records came in three fetches; B's head sits between A's chunks' times
    const aTimes = [[1, 2, 3], [4, 5, 9, 10], [11]];
    let offset = 0;
    for (const times of aTimes) {
      g.add(keyA, records(offset, times));
      offset += times.length;
    }
    g.add(keyB, records(100, [6, 12]));
    // the order is the merge by time (ties: a first), computed here by sorting
    const all = [
      ...aTimes.flat().map((t) => ({ t, name: `a@${t}` })),
      ...[6, 12].map((t) => ({ t, name: `b@${t}` })),
    ].sort((x, y) => x.t - y.t);
    const got: string[] = [];
    // at most 4 per batch: cuts A's second chunk in the middle
    got.push(...flat(g.nextBatch(0, 4)));
    expect(got).toEqual(all.slice(0, 4).map((x) => x.name));
    expect(g.firstBufferedOffset(keyA)).toBe(4);
    expect(g.buffered()).toBe(all.length - 4);
    for (;;) {
      const runs = g.nextBatch(0, 4);
      if (runs === null || runs.length === 0) break;
      got.push(...flat(runs));
    }
    expect(got).toEqual(all.map((x) => x.name));
    expect(g.buffered()).toBe(0);
    expect(g.firstBufferedOffset(keyA)).toBeUndefined();
  });

  it("asks to pause a partition above maxQueuedBytes and to resume it below half; clear forgets records and pauses", () => {
    const g = group(
      new Map([
        [keyA, 0],
        [keyB, 0],
      ]),
      0,
      100,
    );
    g.add(
      keyA,
      records(
        0,
        Array.from({ length: 11 }, (_, i) => i),
      ),
    ); // 110 bytes
    expect(g.pausesWanted()).toEqual({ pause: [A], resume: [] });
    expect(g.pausesWanted()).toEqual({ pause: [], resume: [] });
    g.nextBatch(0, 5); // 60 bytes left: still above half
    expect(g.pausesWanted()).toEqual({ pause: [], resume: [] });
    g.nextBatch(0, 1); // 50
    expect(g.pausesWanted()).toEqual({ pause: [], resume: [A] });
    g.add(
      keyA,
      records(
        11,
        Array.from({ length: 10 }, (_, i) => i + 11),
      ),
    );
    expect(g.pausesWanted().pause).toEqual([A]);
    expect(g.clear()).toEqual([A]);
    expect(g.buffered()).toBe(0);
    expect(g.nextBatch(0, 100)).toBeNull();
  });
});
