import type {
  BatchReaderOptions,
  IsolationLevel,
  LogClient,
  ProducerRecord,
  TransactionalProducer,
} from "@tributary/log";
import { restoreFromChangelog } from "../src/changelog-restorer.js";
import { RocksDbEngine } from "../src/rocksdb/rocksdb-engine.js";

/**
 * A changelog with everything a restore must get right, written through any LogClient
 * (the embedded log here, Kafka in packages/kafka/test): committed and aborted
 * transactions (and their markers), tombstones, a keyless record, headers, and batches
 * whose timestamps differ by decades (deltas of six varlong bytes). Each operation is
 * applied to plain Maps as it is written, so the expected contents do not come from the
 * code under test.
 */
export interface ScenarioState {
  /** What read_committed must restore: committed and non-transactional operations. */
  committed: Map<string, string>;
  /** What read_uncommitted restores: aborted transactions' operations too. */
  uncommitted: Map<string, string>;
}

type Op = [key: string | null, value: string | null];

function records(ops: readonly Op[], decades = false): ProducerRecord[] {
  return ops.map(([k, v], i) => ({
    key: k === null ? null : Buffer.from(k),
    value: v === null ? null : Buffer.from(v),
    partition: 0,
    ...(decades ? { timestamp: i % 2 === 0 ? 1 : Date.now() } : {}),
    ...(i % 3 === 0 ? { headers: { origin: `h-${i}`, trace: Buffer.from([i & 0xff]) } } : {}),
  }));
}

function apply(state: Map<string, string>, ops: readonly Op[]): void {
  for (const [k, v] of ops) {
    if (k === null) continue;
    if (v === null) state.delete(k);
    else state.set(k, v);
  }
}

const range = (from: number, to: number, f: (i: number) => Op): Op[] =>
  Array.from({ length: to - from }, (_, j) => f(from + j));

export async function writeMixedChangelog(
  client: LogClient,
  topic: string,
  transactionalId: string,
): Promise<ScenarioState> {
  const committed = new Map<string, string>();
  const uncommitted = new Map<string, string>();
  const plain = async (ops: Op[], decades = false) => {
    await client.producer().send(topic, records(ops, decades));
    apply(committed, ops);
    apply(uncommitted, ops);
  };
  const txn: TransactionalProducer = client.transactionalProducer({ transactionalId });
  await txn.initTransactions();
  const transaction = async (ops: Op[], commit: boolean) => {
    await txn.beginTransaction();
    // Two sends, so a transaction spans batches.
    const half = Math.ceil(ops.length / 2);
    await txn.send(topic, records(ops.slice(0, half)));
    await txn.send(topic, records(ops.slice(half)));
    if (commit) {
      await txn.commitTransaction();
      apply(committed, ops);
    } else {
      await txn.abortTransaction();
    }
    apply(uncommitted, ops);
  };
  try {
    for (let b = 0; b < 10; b++) {
      await plain(
        range(b * 10, b * 10 + 10, (i) => [`k${i}`, `v${i}-${"x".repeat(i % 40)}`]),
        b % 2 === 0,
      );
    }
    await transaction(
      [...range(100, 150, (i) => [`k${i}`, `t1-${i}`]), ...range(0, 10, (i) => [`k${i}`, null])],
      true,
    );
    await transaction(
      [
        ...range(10, 30, (i) => [`k${i}`, "ABORTED"]),
        ...range(0, 10, (i) => [`aborted-${i}`, "ABORTED"]),
        ["k30", null],
      ],
      false,
    );
    await plain([...range(40, 45, (i) => [`k${i}`, null]), [null, "keyless"]]);
    await transaction([["k10", "after-abort"]], true);
    await plain(range(50, 60, (i) => [`k${i}`, `late-${i}`]));
  } finally {
    await txn.close();
  }
  return { committed, uncommitted };
}

/** The client as it is, but counting the batch readers restore opens. */
export function countingBatchReaders(client: LogClient): { client: LogClient; opened(): number } {
  let opened = 0;
  const reader = client.batchReader?.bind(client);
  if (reader === undefined) throw new Error("this client has no batch reader");
  return {
    client: {
      admin: client.admin,
      producer: (o) => client.producer(o),
      transactionalProducer: (o) => client.transactionalProducer(o),
      consumer: (o) => client.consumer(o),
      batchReader: (o: BatchReaderOptions) => {
        opened++;
        return reader(o);
      },
      close: () => client.close(),
    },
    opened: () => opened,
  };
}

/** The client without a batch reader: restore reads through a consumer. */
export function withoutBatchReader(client: LogClient): LogClient {
  return {
    admin: client.admin,
    producer: (o) => client.producer(o),
    transactionalProducer: (o) => client.transactionalProducer(o),
    consumer: (o) => client.consumer(o),
    close: () => client.close(),
  };
}

/**
 * Restores `topic` partition 0 into a new RocksDB store in `dir` in small chunks (so chunks
 * end inside transactions and batches) and returns its contents and stored offset.
 */
export async function restoreContents(
  client: LogClient,
  topic: string,
  dir: string,
  isolation: IsolationLevel,
): Promise<{ contents: Map<string, string>; offset: number | null; records: number }> {
  const engine = await RocksDbEngine.open(dir, `${topic}-store`);
  try {
    const result = await restoreFromChangelog(engine, {
      client,
      topic,
      partition: 0,
      isolation,
      maxPollBytes: 1024,
    });
    const contents = new Map<string, string>();
    for await (const e of engine.range()) contents.set(e.key.toString(), e.value.toString());
    return { contents, offset: engine.changelogOffset, records: result.records };
  } finally {
    await engine.close();
  }
}
