import { CorruptRecordError, InvalidArgumentError } from "../errors.js";
import type { CommittedOffset } from "../client/log-client.js";
import type { LogRecord, ProducerRecord } from "../record.js";
import { readInt64, writeInt64 } from "../record-batch.js";

/**
 * Where committed offsets are kept: the internal compacted topic `__consumer_offsets`
 * (the embedded log implements this over a PartitionLog of it). Each record is keyed by
 * [group, topic, partition], so compaction keeps the newest commit per partition; a group
 * deletion appends a tombstone per key.
 *
 * Contract: records reach `readAll` in the order of the `append` calls that wrote them
 * (a journal spread over several partitions must keep each key in one partition).
 * `append` resolves once the records are as durable as the journal promises.
 */
export interface OffsetJournal {
  append(records: ProducerRecord[]): Promise<void>;
  readAll(): Iterable<LogRecord>;
}

/** One committed offset as stored, with the time it was committed. */
export interface StoredOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata?: string;
  commitTimestamp: number;
}

/** Kafka's offset.metadata.max.bytes. */
export const MAX_OFFSET_METADATA_BYTES = 4096;

const KEY_VERSION = 1;
const VALUE_VERSION = 1;

/*
 * OffsetKey =>
 *   version:int16        KEY_VERSION (1); readers skip keys of other versions, which are
 *                        left for other group records (e.g. group metadata) later
 *   groupLength:int16
 *   group:utf8
 *   topicLength:int16
 *   topic:utf8
 *   partition:int32
 */
export function encodeOffsetKey(groupId: string, topic: string, partition: number): Buffer {
  const g = Buffer.byteLength(groupId);
  const t = Buffer.byteLength(topic);
  const buf = Buffer.allocUnsafe(2 + 2 + g + 2 + t + 4);
  let pos = buf.writeInt16BE(KEY_VERSION, 0);
  pos = buf.writeInt16BE(g, pos);
  pos += buf.write(groupId, pos, "utf8");
  pos = buf.writeInt16BE(t, pos);
  pos += buf.write(topic, pos, "utf8");
  buf.writeInt32BE(partition, pos);
  return buf;
}

/** Returns undefined for a key of another version; throws on a malformed version-1 key. */
export function decodeOffsetKey(
  key: Buffer,
): { groupId: string; topic: string; partition: number } | undefined {
  if (key.length < 2)
    throw new CorruptRecordError(`offset key of ${key.length} bytes is too short`);
  if (key.readInt16BE(0) !== KEY_VERSION) return undefined;
  const bad = () => new CorruptRecordError(`malformed offset key (${key.length} bytes)`);
  if (key.length < 4) throw bad();
  const g = key.readInt16BE(2);
  if (g < 0 || 4 + g + 2 > key.length) throw bad();
  const groupId = key.toString("utf8", 4, 4 + g);
  const t = key.readInt16BE(4 + g);
  const tStart = 6 + g;
  if (t < 0 || tStart + t + 4 !== key.length) throw bad();
  const topic = key.toString("utf8", tStart, tStart + t);
  return { groupId, topic, partition: key.readInt32BE(tStart + t) };
}

/*
 * OffsetValue =>
 *   version:int16          VALUE_VERSION (1)
 *   offset:int64           the next offset to read, as Kafka's committed offset
 *   commitTimestamp:int64  ms since the epoch, the coordinator's clock
 *   metadataLength:int32   -1 when there is no metadata
 *   metadata:utf8
 */
export function encodeOffsetValue(
  offset: number,
  metadata: string | undefined,
  at: number,
): Buffer {
  const m = metadata === undefined ? 0 : Buffer.byteLength(metadata);
  const buf = Buffer.allocUnsafe(2 + 8 + 8 + 4 + m);
  buf.writeInt16BE(VALUE_VERSION, 0);
  writeInt64(buf, offset, 2);
  writeInt64(buf, at, 10);
  buf.writeInt32BE(metadata === undefined ? -1 : m, 18);
  if (metadata !== undefined) buf.write(metadata, 22, "utf8");
  return buf;
}

export function decodeOffsetValue(value: Buffer): {
  offset: number;
  metadata?: string;
  commitTimestamp: number;
} {
  if (value.length < 22 || value.readInt16BE(0) !== VALUE_VERSION) {
    throw new CorruptRecordError(`malformed offset value (${value.length} bytes)`);
  }
  const m = value.readInt32BE(18);
  if (m < -1 || 22 + Math.max(m, 0) !== value.length) {
    throw new CorruptRecordError(`malformed offset value (${value.length} bytes)`);
  }
  const out: { offset: number; metadata?: string; commitTimestamp: number } = {
    offset: readInt64(value, 2),
    commitTimestamp: readInt64(value, 10),
  };
  if (m >= 0) out.metadata = value.toString("utf8", 22, 22 + m);
  return out;
}

interface Entry extends StoredOffset {
  /** Order of the append that wrote it; a slower earlier append never overwrites it. */
  seq: number;
}

/**
 * Committed offsets of all groups: an in-memory table (group → partition → offset) in
 * front of an {@link OffsetJournal}. On construction it replays the journal, keeping the
 * newest value per key and dropping tombstoned keys. A commit is appended first and
 * applied to the table when the append resolves, so the table never shows an offset the
 * journal might not hold. Fencing is the coordinator's job, not the store's.
 */
export class OffsetStore {
  private readonly groups = new Map<string, Map<string, Entry>>();
  /** seq of each group's latest deletion: commits appended before it must not resurrect it. */
  private readonly deletedAt = new Map<string, number>();
  private seq = 0;

  constructor(private readonly journal: OffsetJournal) {
    for (const r of journal.readAll()) {
      if (r.key === null) continue;
      const where = { offset: r.offset };
      let key: ReturnType<typeof decodeOffsetKey>;
      try {
        key = decodeOffsetKey(r.key);
        if (key === undefined) continue;
        if (r.value === null) {
          this.groups.get(key.groupId)?.delete(partitionKey(key.topic, key.partition));
          continue;
        }
        const value = decodeOffsetValue(r.value);
        this.table(key.groupId).set(partitionKey(key.topic, key.partition), {
          topic: key.topic,
          partition: key.partition,
          ...value,
          seq: 0,
        });
      } catch (err) {
        if (err instanceof CorruptRecordError) {
          throw new CorruptRecordError(
            `__consumer_offsets record ${r.offset}: ${err.message}`,
            where,
          );
        }
        throw err;
      }
    }
    for (const [g, t] of this.groups) if (t.size === 0) this.groups.delete(g);
  }

  /** Appends the offsets as one journal write, then makes them visible. */
  async commit(
    groupId: string,
    offsets: readonly CommittedOffset[],
    commitTimestamp: number,
  ): Promise<void> {
    if (offsets.length === 0) return;
    const records: ProducerRecord[] = new Array(offsets.length);
    for (let i = 0; i < offsets.length; i++) {
      const o = offsets[i]!;
      checkOffset(o);
      records[i] = {
        key: encodeOffsetKey(groupId, o.topic, o.partition),
        value: encodeOffsetValue(o.offset, o.metadata, commitTimestamp),
        timestamp: commitTimestamp,
      };
    }
    const seq = ++this.seq;
    await this.journal.append(records);
    if ((this.deletedAt.get(groupId) ?? -1) > seq) return;
    const table = this.table(groupId);
    for (const o of offsets) {
      const k = partitionKey(o.topic, o.partition);
      const prev = table.get(k);
      if (prev !== undefined && prev.seq > seq) continue;
      const entry: Entry = {
        topic: o.topic,
        partition: o.partition,
        offset: o.offset,
        commitTimestamp,
        seq,
      };
      if (o.metadata !== undefined) entry.metadata = o.metadata;
      table.set(k, entry);
    }
  }

  /** The group's committed offsets, sorted by topic then partition. */
  fetch(groupId: string, topics?: readonly string[]): StoredOffset[] {
    const table = this.groups.get(groupId);
    if (table === undefined) return [];
    const wanted = topics === undefined ? undefined : new Set(topics);
    const out: StoredOffset[] = [];
    for (const e of table.values()) {
      if (wanted !== undefined && !wanted.has(e.topic)) continue;
      const o: StoredOffset = {
        topic: e.topic,
        partition: e.partition,
        offset: e.offset,
        commitTimestamp: e.commitTimestamp,
      };
      if (e.metadata !== undefined) o.metadata = e.metadata;
      out.push(o);
    }
    return out.sort((a, b) =>
      a.topic !== b.topic ? (a.topic < b.topic ? -1 : 1) : a.partition - b.partition,
    );
  }

  committed(groupId: string, topic: string, partition: number): StoredOffset | undefined {
    return this.groups.get(groupId)?.get(partitionKey(topic, partition));
  }

  hasGroup(groupId: string): boolean {
    return this.groups.has(groupId);
  }

  groupIds(): string[] {
    return [...this.groups.keys()].sort();
  }

  /** Topics the group has committed offsets for, sorted. */
  topics(groupId: string): string[] {
    const table = this.groups.get(groupId);
    if (table === undefined) return [];
    return [...new Set([...table.values()].map((e) => e.topic))].sort();
  }

  /** Appends a tombstone for every offset of the group, then forgets it. */
  async deleteGroup(groupId: string): Promise<void> {
    const table = this.groups.get(groupId);
    if (table === undefined || table.size === 0) return;
    const records: ProducerRecord[] = [];
    for (const e of table.values()) {
      records.push({ key: encodeOffsetKey(groupId, e.topic, e.partition), value: null });
    }
    const seq = ++this.seq;
    await this.journal.append(records);
    this.deletedAt.set(groupId, seq);
    const now = this.groups.get(groupId);
    if (now === undefined) return;
    for (const [k, e] of now) if (e.seq < seq) now.delete(k);
    if (now.size === 0) this.groups.delete(groupId);
  }

  private table(groupId: string): Map<string, Entry> {
    let t = this.groups.get(groupId);
    if (t === undefined) {
      t = new Map();
      this.groups.set(groupId, t);
    }
    return t;
  }
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

function checkOffset(o: CommittedOffset): void {
  if (typeof o.topic !== "string" || o.topic.length === 0 || Buffer.byteLength(o.topic) > 32767) {
    throw new InvalidArgumentError(`committed offset has no valid topic name: ${String(o.topic)}`);
  }
  if (!Number.isInteger(o.partition) || o.partition < 0 || o.partition > 2 ** 31 - 1) {
    throw new InvalidArgumentError(
      `committed offset for ${o.topic} has partition ${o.partition}: expected an integer >= 0`,
    );
  }
  if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
    throw new InvalidArgumentError(
      `committed offset for ${o.topic}-${o.partition} is ${o.offset}: expected an integer >= 0 (the next offset to read)`,
    );
  }
  if (o.metadata !== undefined) {
    if (typeof o.metadata !== "string") {
      throw new InvalidArgumentError(`metadata for ${o.topic}-${o.partition} must be a string`);
    }
    if (Buffer.byteLength(o.metadata) > MAX_OFFSET_METADATA_BYTES) {
      throw new InvalidArgumentError(
        `metadata for ${o.topic}-${o.partition} is ${Buffer.byteLength(o.metadata)} bytes: the limit is ${MAX_OFFSET_METADATA_BYTES}`,
      );
    }
  }
}
