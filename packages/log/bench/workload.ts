import type { ProducerRecord } from "../src/record.js";

/**
 * The records every log benchmark sends: 16-byte keys, 100-byte values, sends of 1,000
 * over 3 partitions, each key distinct, timestamps ascending.
 */
export const BATCH = 1_000;
export const PARTITIONS = 3;
export const VALUE_BYTES = 100;
export const KEY_BYTES = 16;

/** `distinct` sends of `batch` records, built up front so the timed loops only send. */
export function makeSends(distinct: number, batch = BATCH): ProducerRecord[][] {
  const sends: ProducerRecord[][] = [];
  let n = 0;
  for (let s = 0; s < distinct; s++) {
    const records: ProducerRecord[] = [];
    for (let i = 0; i < batch; i++, n++) {
      const key = Buffer.alloc(KEY_BYTES);
      key.write(`key-${n.toString(16).padStart(11, "0")}`);
      const value = Buffer.alloc(VALUE_BYTES, n & 0xff);
      records.push({ key, value, timestamp: 1_700_000_000_000 + n });
    }
    sends.push(records);
  }
  return sends;
}
