import type { TopicPartition } from "@tributary/log";

/**
 * The byte formats Kafka's consumer groups carry opaquely through JoinGroup and SyncGroup
 * (protocol type "consumer"), as Kafka's Java client writes them, so Kafka's own tools
 * (kafka-consumer-groups --describe) read a Tributary group's members and assignments.
 * Strings are int16-length UTF-8, arrays int32-counted, bytes int32-length (-1 = null);
 * all big-endian.
 *
 * ConsumerProtocolSubscription (version 1) =>
 *   version:int16 topics:[topic:string] userData:bytes
 *   ownedPartitions:[topic:string partitions:[int32]]
 *
 * ConsumerProtocolAssignment (version 0) =>
 *   version:int16 assigned:[topic:string partitions:[int32]] userData:bytes
 *
 * ownedPartitions (what the member held in the previous generation) is what the sticky
 * assignor needs to keep partitions where they are.
 */
export interface Subscription {
  topics: string[];
  owned: TopicPartition[];
}

export function encodeSubscription(
  topics: readonly string[],
  owned: readonly TopicPartition[],
): Buffer {
  const w = new Writer();
  w.int16(1);
  w.int32(topics.length);
  for (const t of topics) w.string(t);
  w.int32(0); // userData: empty
  writeTopicPartitions(w, owned);
  return w.done();
}

export function decodeSubscription(buf: Buffer | null): Subscription {
  if (buf === null || buf.length < 2) return { topics: [], owned: [] };
  const r = new Reader(buf);
  const version = r.int16();
  const topics = r.array(() => r.string());
  if (r.remaining() >= 4) r.bytes();
  const owned = version >= 1 && r.remaining() >= 4 ? readTopicPartitions(r) : [];
  return { topics, owned };
}

export function encodeAssignment(partitions: readonly TopicPartition[]): Buffer {
  const w = new Writer();
  w.int16(0);
  writeTopicPartitions(w, partitions);
  w.int32(0); // userData: empty, not null (some readers do not accept null here)
  return w.done();
}

export function decodeAssignment(buf: Buffer | null): TopicPartition[] {
  if (buf === null || buf.length < 6) return [];
  const r = new Reader(buf);
  r.int16();
  return readTopicPartitions(r);
}

function writeTopicPartitions(w: Writer, tps: readonly TopicPartition[]): void {
  const byTopic = new Map<string, number[]>();
  for (const tp of tps) {
    let list = byTopic.get(tp.topic);
    if (list === undefined) {
      list = [];
      byTopic.set(tp.topic, list);
    }
    list.push(tp.partition);
  }
  w.int32(byTopic.size);
  for (const [topic, partitions] of byTopic) {
    w.string(topic);
    w.int32(partitions.length);
    for (const p of partitions) w.int32(p);
  }
}

function readTopicPartitions(r: Reader): TopicPartition[] {
  const out: TopicPartition[] = [];
  r.array(() => {
    const topic = r.string();
    for (const partition of r.array(() => r.int32())) out.push({ topic, partition });
  });
  return out;
}

class Writer {
  private readonly parts: Buffer[] = [];
  int16(v: number): void {
    const b = Buffer.allocUnsafe(2);
    b.writeInt16BE(v);
    this.parts.push(b);
  }
  int32(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(v);
    this.parts.push(b);
  }
  string(s: string): void {
    const b = Buffer.from(s, "utf8");
    this.int16(b.length);
    this.parts.push(b);
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  remaining(): number {
    return this.buf.length - this.pos;
  }
  int16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  string(): string {
    const len = this.int16();
    const s = this.buf.toString("utf8", this.pos, this.pos + len);
    this.pos += len;
    return s;
  }
  bytes(): Buffer | null {
    const len = this.int32();
    if (len < 0) return null;
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }
  array<T>(item: () => T): T[] {
    const n = this.int32();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item());
    return out;
  }
}
