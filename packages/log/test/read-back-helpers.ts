import { connectBroker } from "../src/broker/connect-broker.js";
import { eventually } from "./broker-helpers.js";

/**
 * Reads every partition of `topic` from offset 0 to its end, straight from the broker at
 * `address`, and returns each partition's values as numbers, in log order: what the
 * producer fault tests compare with what their producer sent.
 */
export async function readNumbersBack(
  address: string,
  topic: string,
  partitions: number,
): Promise<number[][]> {
  const reader = await connectBroker(address);
  try {
    const consumer = reader.consumer();
    const tps = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }));
    consumer.assign(tps);
    for (const tp of tps) consumer.seek(tp, 0);
    const ends = await reader.admin.listOffsets(topic, "latest");
    const stored = ends.reduce((n, o) => n + o.offset, 0);
    const byPartition: number[][] = tps.map(() => []);
    let read = 0;
    await eventually(async () => {
      for (const fp of await consumer.poll({ maxWaitMs: 100 })) {
        for (const r of fp.records) byPartition[fp.partition]!.push(Number(r.value!.toString()));
        read += fp.records.length;
      }
      return read >= stored ? true : undefined;
    }, "whole topic read back");
    return byPartition;
  } finally {
    await reader.close();
  }
}

/** The partitions whose numbers do not strictly increase (a retry stored out of order). */
export function outOfOrder(byPartition: number[][]): number[][] {
  return byPartition.filter((p) => p.some((n, i) => i > 0 && n <= p[i - 1]!));
}
