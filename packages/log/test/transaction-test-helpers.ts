import type { ServiceLogClient } from "../src/client/service-log-client.js";
import type { ProducerRecord } from "../src/record.js";

/** Records of ~330 bytes each, so a 1 KiB segment holds a few. */
export const paddedRecord = (value: string, timestamp: number): ProducerRecord => ({
  key: Buffer.from(value),
  value: Buffer.from(`${value}:${"p".repeat(300)}`),
  timestamp,
});

/** Sends each record in a send of its own, so each is a batch and batches fill segments. */
export async function sendEach(
  producer: { send(topic: string, records: ProducerRecord[]): Promise<unknown> },
  topic: string,
  records: ProducerRecord[],
): Promise<void> {
  for (const r of records) await producer.send(topic, [r]);
}

/** The values (before the padding) of partition 0 of `topic` from `from` up to `end`. */
export async function readValues(
  client: ServiceLogClient,
  topic: string,
  isolation: "read_committed" | "read_uncommitted",
  from: number,
  end: number,
): Promise<string[]> {
  const c = client.consumer({ isolation });
  const tp = { topic, partition: 0 };
  c.assign([tp]);
  c.seek(tp, from);
  const values: string[] = [];
  const deadline = Date.now() + 60_000;
  try {
    while ((c.position(tp) ?? 0) < end && Date.now() < deadline) {
      for (const fp of await c.poll({ maxWaitMs: 100 })) {
        for (const r of fp.records) values.push(r.value!.toString().split(":")[0]!);
      }
    }
  } finally {
    await c.close();
  }
  return values;
}
