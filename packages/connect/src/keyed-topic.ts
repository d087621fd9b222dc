import type { LogClient, Producer } from "@tributary/log";

/**
 * A compacted, single-partition topic used as a small key-value table (Kafka Connect's
 * offsets and status topics): `put` appends key → JSON value and resolves once the log
 * acknowledged it; `readAll` replays the topic from its start to its end at call time and
 * keeps the newest value per key (null deletes). One partition keeps every key's history
 * in one order, so the newest record always wins.
 *
 * Record layout: key = UTF-8 key string, value = UTF-8 JSON (or null: forget the key).
 */
export class KeyedTopic {
  private producer: Producer | null = null;

  constructor(
    private readonly log: LogClient,
    readonly topic: string,
  ) {}

  async ensure(): Promise<void> {
    await this.log.admin.createTopic(this.topic, {
      partitions: 1,
      config: { cleanupPolicy: "compact", retentionMs: -1 },
      ifNotExists: true,
    });
  }

  async put(entries: [key: string, value: unknown][]): Promise<void> {
    if (entries.length === 0) return;
    this.producer ??= this.log.producer({ clientId: `${this.topic}-writer` });
    await this.producer.send(
      this.topic,
      entries.map(([key, value]) => ({
        key: Buffer.from(key),
        value: value === null ? null : Buffer.from(JSON.stringify(value)),
        partition: 0,
      })),
    );
  }

  async readAll(): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    const [end] = await this.log.admin.listOffsets(this.topic, "latest");
    const stop = end?.offset ?? 0;
    if (stop === 0) return out;
    const consumer = this.log.consumer({ autoOffsetReset: "earliest" });
    try {
      const tp = { topic: this.topic, partition: 0 };
      consumer.assign([tp]);
      const [start] = await this.log.admin.listOffsets(this.topic, "earliest");
      consumer.seek(tp, start?.offset ?? 0);
      while ((consumer.position(tp) ?? 0) < stop) {
        for (const fetched of await consumer.poll({ maxWaitMs: 200 })) {
          for (const r of fetched.records) {
            if (r.offset >= stop || r.key === null) continue;
            const key = r.key.toString();
            if (r.value === null) out.delete(key);
            else out.set(key, JSON.parse(r.value.toString()));
          }
        }
      }
    } finally {
      await consumer.close();
    }
    return out;
  }

  async close(): Promise<void> {
    await this.producer?.close();
    this.producer = null;
  }
}

/** Kafka Connect's default names, so a Kafka cluster shows familiar topics. */
export const OFFSETS_TOPIC = "connect-offsets";
export const STATUS_TOPIC = "connect-status";

/** The offsets-topic key of one source partition of one connector. */
export function offsetKey(connector: string, partition: string): string {
  return JSON.stringify([connector, partition]);
}
