import {
  type LogRecord,
  type ProduceResult,
  type Producer,
  type ProducerRecord,
  partitionForKey,
} from "@tributary/log";
import type { ChangelogTarget } from "@tributary/state";
import { isWatermarkRecord } from "../runtime/watermark-record.js";

/** One partition of a driver topic: its records, and how far its task has read it. */
interface DriverPartition {
  records: LogRecord[];
  read: number;
}

interface DriverTopic {
  partitions: DriverPartition[];
  /** Every record in append order, for output topics read across partitions. */
  appended: LogRecord[];
  /** How far a TestOutputTopic has read `appended`. */
  outputRead: number;
  /** Records of `appended` from `outputRead` on that are not watermark records. */
  unreadOutputs: number;
}

/** Which partition with unread records a task reads next. */
export type InterleaveOrder = "as-piped" | "round-robin" | "by-partition";

/**
 * The test driver's topics, in memory and partitioned as on a broker: a keyed record goes
 * to the partition the producer's partitioner picks (murmur2 of the key, as Kafka's), a
 * keyless one to partition 0 unless it names one. The topics a task reads are consumed in
 * the driver's interleave order; every topic can be read back as output, watermark records
 * (the runtime's own, on repartition topics) left out.
 */
export class DriverTopics {
  private readonly topics = new Map<string, DriverTopic>();
  /** Topic-partitions with records appended, in append order ("as-piped"). */
  private readonly arrivals: { topic: string; partition: number }[] = [];
  private rotation = 0;

  constructor(
    private readonly partitionsOf: (topic: string) => number,
    /** Topics some task reads: their records are queued for processing. */
    private readonly consumed: ReadonlySet<string>,
    private readonly order: InterleaveOrder,
    private readonly clock: () => number,
  ) {}

  /** Appends a record; returns it as stored (offset, timestamp, partition). */
  append(topic: string, r: ProducerRecord): { record: LogRecord; partition: number } {
    const t = this.topic(topic);
    let partition = r.partition;
    if (partition === undefined) {
      partition =
        r.key === null || r.key === undefined ? 0 : partitionForKey(r.key, t.partitions.length);
    }
    const p = t.partitions[partition];
    if (p === undefined) {
      throw new RangeError(
        `topic '${topic}' has ${t.partitions.length} partitions; a record named partition ${partition}`,
      );
    }
    const headers: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(r.headers ?? {})) {
      headers[k] = typeof v === "string" ? Buffer.from(v, "utf8") : v;
    }
    const record: LogRecord = {
      offset: p.records.length,
      timestamp: r.timestamp ?? this.clock(),
      key: r.key ?? null,
      value: r.value,
      headers,
    };
    p.records.push(record);
    t.appended.push(record);
    if (!isWatermarkRecord(record)) t.unreadOutputs++;
    if (this.consumed.has(topic)) this.arrivals.push({ topic, partition });
    return { record, partition };
  }

  /** A store's changelog here: appended before the store's commit returns. */
  changelog(topic: string, partition: number): ChangelogTarget {
    return {
      producer: this.producer(),
      topic,
      partition,
      appendSync: (records) => {
        let next = 0;
        for (const r of records) next = this.append(topic, { ...r, partition }).record.offset + 1;
        return next;
      },
    };
  }

  /** A producer over these topics whose sends are stored before `send` returns. */
  private producer(): Producer {
    const send = (topic: string, records: readonly ProducerRecord[]) => {
      const results: ProduceResult[] = [];
      for (const r of records) {
        const { record, partition } = this.append(topic, r);
        results.push({ topic, partition, baseOffset: record.offset, lastOffset: record.offset });
      }
      return Promise.resolve(results);
    };
    return {
      send,
      flush: () => Promise.resolve(),
      close: () => Promise.resolve(),
    } as unknown as Producer;
  }

  /** The next record a task should process, in the interleave order; undefined: none. */
  next(): { topic: string; partition: number; record: LogRecord } | undefined {
    if (this.order === "as-piped") {
      const a = this.arrivals.shift();
      return a === undefined ? undefined : this.take(a.topic, a.partition);
    }
    const unread: { topic: string; partition: number }[] = [];
    for (const topic of this.consumed) {
      const t = this.topics.get(topic);
      t?.partitions.forEach((p, i) => {
        if (p.read < p.records.length) unread.push({ topic, partition: i });
      });
    }
    if (unread.length === 0) return undefined;
    if (this.order === "by-partition") unread.sort((a, b) => a.partition - b.partition);
    const pick = unread[this.order === "round-robin" ? this.rotation++ % unread.length : 0]!;
    return this.take(pick.topic, pick.partition);
  }

  /** True when the task reading `topic`'s partition has read all of it. */
  caughtUp(topic: string, partition: number): boolean {
    const p = this.topics.get(topic)?.partitions[partition];
    return p === undefined || p.read >= p.records.length;
  }

  /** Marks everything appended so far as read (after a record failed: as Kafka's driver,
   * what it produced is not processed further). */
  skipAll(): void {
    this.arrivals.length = 0;
    for (const t of this.topics.values()) for (const p of t.partitions) p.read = p.records.length;
  }

  /** The next output record of `topic` across partitions (no watermark records). */
  readOutput(topic: string): LogRecord | undefined {
    const t = this.topics.get(topic);
    if (t === undefined) return undefined;
    while (t.outputRead < t.appended.length) {
      const r = t.appended[t.outputRead++]!;
      if (!isWatermarkRecord(r)) {
        t.unreadOutputs--;
        return r;
      }
    }
    return undefined;
  }

  outputSize(topic: string): number {
    return this.topics.get(topic)?.unreadOutputs ?? 0;
  }

  /** One partition's records (a changelog to restore from). */
  records(topic: string, partition: number): readonly LogRecord[] {
    return this.topics.get(topic)?.partitions[partition]?.records ?? [];
  }

  /** Topics written so far. */
  names(): string[] {
    return [...this.topics].filter(([, t]) => t.appended.length > 0).map(([name]) => name);
  }

  /** Copies every partition of `topic` from another driver's topics (a restart's state). */
  copyFrom(other: DriverTopics, topic: string): void {
    const from = other.topics.get(topic);
    if (from === undefined) return;
    const t = this.topic(topic);
    from.partitions.forEach((p, i) => {
      for (const r of p.records) this.append(topic, { ...r, key: r.key, partition: i });
    });
    t.outputRead = t.appended.length;
    t.unreadOutputs = 0;
  }

  private take(topic: string, partition: number) {
    const p = this.topics.get(topic)!.partitions[partition]!;
    if (p.read >= p.records.length) return this.next();
    return { topic, partition, record: p.records[p.read++]! };
  }

  private topic(name: string): DriverTopic {
    let t = this.topics.get(name);
    if (t === undefined) {
      const n = Math.max(1, this.partitionsOf(name));
      t = {
        partitions: Array.from({ length: n }, () => ({ records: [], read: 0 })),
        appended: [],
        outputRead: 0,
        unreadOutputs: 0,
      };
      this.topics.set(name, t);
    }
    return t;
  }
}
