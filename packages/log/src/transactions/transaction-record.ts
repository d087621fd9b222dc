import { CorruptRecordError } from "../errors.js";
import type { TopicPartition } from "../record.js";
import { readInt64, writeInt64 } from "../record-batch.js";

/** Where a transaction is, as Kafka's TransactionState (without its fencing sub-states). */
export type TransactionStatus =
  | "Empty"
  | "Ongoing"
  | "PrepareCommit"
  | "PrepareAbort"
  | "CompleteCommit"
  | "CompleteAbort";

const STATUSES: readonly TransactionStatus[] = [
  "Empty",
  "Ongoing",
  "PrepareCommit",
  "PrepareAbort",
  "CompleteCommit",
  "CompleteAbort",
];

/** One transactional id's state: what the coordinator journals on every transition. */
export interface TransactionMetadata {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  status: TransactionStatus;
  /** Partitions written in the current (or last completed) transaction. */
  partitions: TopicPartition[];
  /** Consumer groups whose offsets the transaction commits (sendOffsets). */
  groups: string[];
  /** The offsets sendOffsets gave, newest per group and partition: committed with the transaction. */
  offsets: TxnOffset[];
  /** When the current transaction began (its first partition or group), ms; 0 when none. */
  startedAt: number;
  updatedAt: number;
}

/** A group offset committed inside a transaction. */
export interface TxnOffset {
  groupId: string;
  topic: string;
  partition: number;
  offset: number;
  metadata?: string;
}

const KEY_VERSION = 1;
const VALUE_VERSION = 2;

/*
 * The transaction state topic's records (`__transaction_state`, compacted: the newest
 * record per transactional id is its state; a tombstone forgets an expired id).
 *
 * TransactionKey =>
 *   version:int16           KEY_VERSION (1)
 *   transactionalId:utf8    the rest of the key
 *
 * TransactionValue =>
 *   version:int16           VALUE_VERSION (2; version 1 has no offsets)
 *   producerId:int64
 *   producerEpoch:int16
 *   timeoutMs:int32
 *   status:int8             index in Empty, Ongoing, PrepareCommit, PrepareAbort,
 *                           CompleteCommit, CompleteAbort
 *   startedAt:int64         ms since the epoch; 0 when no transaction is open
 *   updatedAt:int64
 *   partitionCount:int32
 *   partitions:[topicLength:int16 topic:utf8 partition:int32]
 *   groupCount:int32
 *   groups:[groupLength:int16 group:utf8]
 *   offsetCount:int32
 *   offsets:[groupLength:int16 group:utf8 topicLength:int16 topic:utf8 partition:int32
 *            offset:int64 metadataLength:int16 (-1: none) metadata:utf8]
 */
export function encodeTransactionKey(transactionalId: string): Buffer {
  const id = Buffer.from(transactionalId, "utf8");
  const buf = Buffer.allocUnsafe(2 + id.length);
  buf.writeInt16BE(KEY_VERSION, 0);
  id.copy(buf, 2);
  return buf;
}

export function decodeTransactionKey(key: Buffer): string {
  if (key.length < 3 || key.readInt16BE(0) !== KEY_VERSION) {
    throw new CorruptRecordError(
      `transaction state key of ${key.length} bytes is not a version-${KEY_VERSION} key`,
    );
  }
  return key.toString("utf8", 2);
}

export function encodeTransactionValue(m: TransactionMetadata): Buffer {
  const topics = m.partitions.map((tp) => Buffer.from(tp.topic, "utf8"));
  const groups = m.groups.map((g) => Buffer.from(g, "utf8"));
  const offsets = m.offsets.map((o) => ({
    group: Buffer.from(o.groupId, "utf8"),
    topic: Buffer.from(o.topic, "utf8"),
    metadata: o.metadata === undefined ? null : Buffer.from(o.metadata, "utf8"),
    o,
  }));
  let size = 2 + 8 + 2 + 4 + 1 + 8 + 8 + 4 + 4 + 4;
  for (const t of topics) size += 2 + t.length + 4;
  for (const g of groups) size += 2 + g.length;
  for (const o of offsets) {
    size += 2 + o.group.length + 2 + o.topic.length + 4 + 8 + 2 + (o.metadata?.length ?? 0);
  }
  const buf = Buffer.allocUnsafe(size);
  let pos = buf.writeInt16BE(VALUE_VERSION, 0);
  writeInt64(buf, m.producerId, pos);
  pos = buf.writeInt16BE(m.producerEpoch, pos + 8);
  pos = buf.writeInt32BE(m.timeoutMs, pos);
  pos = buf.writeInt8(STATUSES.indexOf(m.status), pos);
  writeInt64(buf, m.startedAt, pos);
  writeInt64(buf, m.updatedAt, pos + 8);
  pos = buf.writeInt32BE(topics.length, pos + 16);
  for (let i = 0; i < topics.length; i++) {
    pos = buf.writeInt16BE(topics[i]!.length, pos);
    pos += topics[i]!.copy(buf, pos);
    pos = buf.writeInt32BE(m.partitions[i]!.partition, pos);
  }
  pos = buf.writeInt32BE(groups.length, pos);
  for (const g of groups) {
    pos = buf.writeInt16BE(g.length, pos);
    pos += g.copy(buf, pos);
  }
  pos = buf.writeInt32BE(offsets.length, pos);
  for (const { group, topic, metadata, o } of offsets) {
    pos = buf.writeInt16BE(group.length, pos);
    pos += group.copy(buf, pos);
    pos = buf.writeInt16BE(topic.length, pos);
    pos += topic.copy(buf, pos);
    pos = buf.writeInt32BE(o.partition, pos);
    writeInt64(buf, o.offset, pos);
    pos = buf.writeInt16BE(metadata === null ? -1 : metadata.length, pos + 8);
    if (metadata !== null) pos += metadata.copy(buf, pos);
  }
  return buf;
}

export function decodeTransactionValue(
  transactionalId: string,
  value: Buffer,
): TransactionMetadata {
  const bad = (why: string) =>
    new CorruptRecordError(
      `transaction state of '${transactionalId}' (${value.length} bytes) is malformed: ${why}`,
    );
  const need = (pos: number, n: number) => {
    if (pos + n > value.length)
      throw bad(`it ends at byte ${value.length}, before byte ${pos + n}`);
  };
  need(0, 37);
  const version = value.readInt16BE(0);
  if (version !== 1 && version !== VALUE_VERSION) throw bad(`version ${version}`);
  const producerId = readInt64(value, 2);
  const producerEpoch = value.readInt16BE(10);
  const timeoutMs = value.readInt32BE(12);
  const status = STATUSES[value.readInt8(16)];
  if (status === undefined) throw bad(`status ${value.readInt8(16)}`);
  const startedAt = readInt64(value, 17);
  const updatedAt = readInt64(value, 25);
  const partitionCount = value.readInt32BE(33);
  let pos = 37;
  const partitions: TopicPartition[] = [];
  for (let i = 0; i < partitionCount; i++) {
    need(pos, 2);
    const n = value.readInt16BE(pos);
    need(pos + 2, n + 4);
    const topic = value.toString("utf8", pos + 2, pos + 2 + n);
    partitions.push({ topic, partition: value.readInt32BE(pos + 2 + n) });
    pos += 2 + n + 4;
  }
  need(pos, 4);
  const groupCount = value.readInt32BE(pos);
  pos += 4;
  const groups: string[] = [];
  for (let i = 0; i < groupCount; i++) {
    need(pos, 2);
    const n = value.readInt16BE(pos);
    need(pos + 2, n);
    groups.push(value.toString("utf8", pos + 2, pos + 2 + n));
    pos += 2 + n;
  }
  const offsets: TxnOffset[] = [];
  if (version >= 2) {
    need(pos, 4);
    const offsetCount = value.readInt32BE(pos);
    pos += 4;
    const text = (): string => {
      need(pos, 2);
      const n = value.readInt16BE(pos);
      need(pos + 2, n);
      pos += 2 + n;
      return value.toString("utf8", pos - n, pos);
    };
    for (let i = 0; i < offsetCount; i++) {
      const groupId = text();
      const topic = text();
      need(pos, 14);
      const partition = value.readInt32BE(pos);
      const offset = readInt64(value, pos + 4);
      const metadataLength = value.readInt16BE(pos + 12);
      pos += 14;
      const o: TxnOffset = { groupId, topic, partition, offset };
      if (metadataLength >= 0) {
        need(pos, metadataLength);
        o.metadata = value.toString("utf8", pos, pos + metadataLength);
        pos += metadataLength;
      }
      offsets.push(o);
    }
  }
  if (pos !== value.length) throw bad(`${value.length - pos} bytes after the last group`);
  return {
    transactionalId,
    producerId,
    producerEpoch,
    timeoutMs,
    status,
    partitions,
    groups,
    offsets,
    startedAt,
    updatedAt,
  };
}
