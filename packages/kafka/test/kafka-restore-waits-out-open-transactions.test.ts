import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LogClient, ProducerRecord, TransactionalProducer } from "@tributary/log";
import { eventually } from "@tributary/log/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restoreFromChangelog } from "../../state/src/changelog-restorer.js";
import { RocksDbEngine } from "../../state/src/rocksdb/rocksdb-engine.js";
import { countingBatchReaders } from "../../state/test/restore-scenario.js";
import { kafkaBrokers, suiteLog } from "./kafka-helpers.js";

kafkaBrokers();

/**
 * Restore under read_committed (exactly-once) from a changelog on Kafka whose tail is not
 * committed data: an aborted transaction and its ABORT marker, a transaction still open
 * (as a SIGKILLed worker leaves it), a lone COMMIT marker. Kafka serves read_committed
 * fetches only up to the last stable offset and writes transaction markers after EndTxn
 * returns, so restore's end offset (the high watermark) can lie inside a transaction or
 * before its marker. Restore must wait there, not give up or run past, and end with
 * exactly the committed records; the expected contents are folded here from what was
 * written.
 */
describe("restore on Kafka at a changelog tail of transactions", () => {
  const suite = suiteLog("restoretail");
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-kafka-restore-tail-"));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const rec = (key: string, value: string): ProducerRecord => ({
    key: Buffer.from(key),
    value: Buffer.from(value),
    partition: 0,
  });

  /** Writes a few committed records (plain and transactional); returns what they leave. */
  async function committedHead(topic: string, txn: TransactionalProducer) {
    const expected = new Map<string, string>();
    await suite.log.admin.createTopic(topic, { partitions: 1 });
    await suite.log.producer().send(topic, [rec("a", "a1"), rec("b", "b1")]);
    expected.set("a", "a1").set("b", "b1");
    await txn.initTransactions();
    await txn.beginTransaction();
    await txn.send(topic, [rec("a", "a2"), rec("c", "c1")]);
    await txn.commitTransaction();
    expected.set("a", "a2").set("c", "c1");
    return expected;
  }

  /** The high watermark and last stable offset once they agree (every marker written). */
  async function settledEnd(topic: string): Promise<number> {
    return eventually(async () => {
      const hw = (await suite.log.admin.listOffsets(topic, "latest"))[0]!.offset;
      const lso = (await suite.log.admin.offsetsAt(topic, -1n, true)).get(0);
      return hw === lso ? hw : undefined;
    }, `${topic}: the transaction markers written`);
  }

  async function restore(client: LogClient, topic: string, from?: number) {
    const engine = await RocksDbEngine.open(path.join(dir, topic), `${topic}-store`);
    const progress: number[] = [];
    const done = restoreFromChangelog(engine, {
      client,
      topic,
      partition: 0,
      isolation: "read_committed",
      ...(from === undefined ? {} : { from }),
      onProgress: (d) => progress.push(d),
    });
    return {
      progress,
      async result() {
        try {
          const r = await done;
          const contents = new Map<string, string>();
          for await (const e of engine.range()) contents.set(e.key.toString(), e.value.toString());
          return { ...r, contents, stored: engine.changelogOffset };
        } finally {
          await engine.close();
        }
      },
    };
  }

  /**
   * Starts a restore of `topic` from its start; returns (the promise of) its result once it
   * has copied everything below `stable` (the last stable offset) and still waits there.
   */
  async function restoreWaitingAt(topic: string, stable: number) {
    const restoring = await restore(suite.log, topic);
    let finished = false;
    const result = restoring.result().finally(() => {
      finished = true;
    });
    await eventually(
      () => (restoring.progress.includes(stable) ? true : undefined),
      "restore to reach the last stable offset",
    );
    expect(finished).toBe(false);
    // In an object: an async function returning the promise itself would wait for it.
    return { result };
  }

  it("ends in an aborted transaction: its records stay out, restore reaches the marker", async () => {
    const topic = "aborted-tail";
    const txn = suite.log.transactionalProducer({ transactionalId: `${suite.namespace}-t1` });
    try {
      const expected = await committedHead(topic, txn);
      await txn.beginTransaction();
      await txn.send(topic, [rec("a", "ABORTED"), rec("d", "ABORTED")]);
      await txn.send(topic, [rec("e", "ABORTED")]);
      await txn.abortTransaction();
      const end = await settledEnd(topic);
      const counting = countingBatchReaders(suite.log);
      const r = await (await restore(counting.client, topic)).result();
      expect(counting.opened()).toBe(1);
      expect(r.contents).toEqual(expected);
      expect(r.to).toBe(end);
      expect(r.stored).toBe(end);
    } finally {
      await txn.close();
    }
  }, 120_000);

  it("ends in an open transaction: restore waits at the last stable offset until it is aborted", async () => {
    const topic = "open-tail";
    const txn = suite.log.transactionalProducer({ transactionalId: `${suite.namespace}-t2` });
    try {
      const expected = await committedHead(topic, txn);
      const stable = await settledEnd(topic);
      await txn.beginTransaction();
      await txn.send(topic, [rec("b", "OPEN"), rec("f", "OPEN")]);
      const hw = (await suite.log.admin.listOffsets(topic, "latest"))[0]!.offset;
      expect(hw).toBeGreaterThan(stable);
      const { result } = await restoreWaitingAt(topic, stable);
      await txn.abortTransaction();
      const r = await result;
      expect(r.contents).toEqual(expected);
      expect(r.to).toBe(hw);
      expect(r.stored).toBe(hw);
    } finally {
      await txn.close();
    }
  }, 120_000);

  it("ends in the open transaction of a writer that died: its successor's initTransactions aborts it and restore ends", async () => {
    const topic = "fenced-tail";
    const id = `${suite.namespace}-t3`;
    const dead = suite.log.transactionalProducer({ transactionalId: id });
    const expected = await committedHead(topic, dead);
    const stable = await settledEnd(topic);
    await dead.beginTransaction();
    await dead.send(topic, [rec("c", "ZOMBIE"), rec("g", "ZOMBIE")]);
    // The writer is never heard from again (a SIGKILLed worker): only the next instance
    // under its transactional id, as a restarted worker, ends its transaction.
    const hw = (await suite.log.admin.listOffsets(topic, "latest"))[0]!.offset;
    const { result } = await restoreWaitingAt(topic, stable);
    const successor = suite.log.transactionalProducer({ transactionalId: id });
    try {
      await successor.initTransactions();
      const r = await result;
      expect(r.contents).toEqual(expected);
      expect(r.stored).toBe(hw);
    } finally {
      await successor.close();
      await dead.close().catch(() => {});
    }
  }, 120_000);

  it("from a COMMIT marker at the end (a store stopped right after its last record): reads it and ends", async () => {
    const topic = "marker-tail";
    const txn = suite.log.transactionalProducer({ transactionalId: `${suite.namespace}-t4` });
    try {
      await committedHead(topic, txn);
      const end = await settledEnd(topic);
      // The marker is the last offset: a store that stored end - 1 has every record.
      const r = await (await restore(suite.log, topic, end - 1)).result();
      expect(r).toMatchObject({ from: end - 1, to: end, records: 0, stored: end });
      expect(r.contents.size).toBe(0);
    } finally {
      await txn.close();
    }
  }, 120_000);
});
