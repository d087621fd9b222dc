import { type LogClient, SerdeDecodeError } from "@tributary/log";
import { Observable } from "rxjs";
import { defaultSerde, type Serde } from "../serdes.js";
import type { StreamRecord } from "../runtime/stream-record.js";

/** A record observed on a topic, with where it lives. */
export interface TopicRecord<K, V> extends StreamRecord<K, V> {
  topic: string;
  partition: number;
  offset: number;
}

export interface ObserveTopicOptions<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  /** Start at the oldest record held, or only see new ones (default "latest"). */
  from?: "earliest" | "latest";
  /** How long one poll waits for records (default 200 ms); bounds unsubscribe latency. */
  pollWaitMs?: number;
}

/**
 * A topic as an Observable, for application code that taps a stream (a dashboard, a
 * websocket push, a test). It is a plain consumer without a group: it commits nothing and
 * sees every partition. Each subscription polls on its own until unsubscribed. Not the
 * engine's inner loop: tasks read batches directly. An undecodable record errors the
 * observable with a SerdeDecodeError that names its place.
 */
export function observeTopic<K = unknown, V = unknown>(
  client: LogClient,
  topic: string,
  options: ObserveTopicOptions<K, V> = {},
): Observable<TopicRecord<K, V>> {
  const keySerde = options.keySerde ?? defaultSerde<K>();
  const valueSerde = options.valueSerde ?? defaultSerde<V>();
  const from = options.from ?? "latest";
  const maxWaitMs = options.pollWaitMs ?? 200;
  return new Observable<TopicRecord<K, V>>((subscriber) => {
    let stopped = false;
    const consumer = client.consumer({ autoOffsetReset: from });
    const run = async () => {
      const description = await client.admin.describeTopic(topic);
      consumer.assign(description.partitions.map((p) => ({ topic, partition: p.partition })));
      for (const p of description.partitions) {
        consumer.seek(
          { topic, partition: p.partition },
          from === "earliest" ? p.logStartOffset : p.logEndOffset,
        );
      }
      while (!stopped) {
        const fetched = await consumer.poll({ maxWaitMs });
        for (const batch of fetched) {
          for (const r of batch.records) {
            if (stopped) return;
            let key: K;
            let value: V;
            try {
              key = keySerde.deserialize(r.key === null ? null : Buffer.from(r.key));
              value = valueSerde.deserialize(r.value === null ? null : Buffer.from(r.value));
            } catch (e) {
              throw new SerdeDecodeError(
                `cannot decode the record at ${topic}-${batch.partition} offset ${r.offset}: ${(e as Error).message}: observe with the serdes the producer used`,
                { topic, partition: batch.partition, offset: r.offset },
                e,
              );
            }
            subscriber.next({
              key,
              value,
              timestamp: r.timestamp,
              headers: r.headers,
              topic,
              partition: batch.partition,
              offset: r.offset,
            });
          }
        }
      }
    };
    run()
      .then(
        () => {
          if (!stopped) subscriber.complete();
        },
        (e) => subscriber.error(e),
      )
      .finally(() => {
        consumer.close().catch(() => {});
      });
    return () => {
      stopped = true;
    };
  });
}
