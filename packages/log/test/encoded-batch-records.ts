import type { RecordHeaders } from "../src/record.js";

/**
 * The records the encoded-batch tests and their producing child write: record `i` of
 * `run` is a pure function of (run, i), so a reader checks each record it finds against
 * this, not against what the code under test produced. Some keys and values are null, some
 * records carry an extra header, every one carries its id; sizes vary so batches split at
 * their size cap at different records.
 */
export const ENCODED_PARTITIONS = 3;

export interface ExpectedRecord {
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaders;
}

export function expectedRecord(run: number, i: number): ExpectedRecord {
  const id = `${run}:${i}`;
  return {
    partition: i % ENCODED_PARTITIONS,
    key: i % 7 === 3 ? null : Buffer.from(`k${id}`),
    value: i % 11 === 5 ? null : Buffer.from(`v${id}:${"x".repeat((i * 37) % 300)}`),
    headers: i % 5 === 0 ? { id, h: Buffer.from([i & 0xff, 0, 255]) } : { id },
  };
}
