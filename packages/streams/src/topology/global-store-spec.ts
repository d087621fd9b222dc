import type { Serde } from "../serdes.js";

/**
 * A global store (globalTable()): every worker holds ALL partitions of `topic` in it, so
 * it belongs to no sub-topology and no task. The topic itself is its changelog (nothing
 * else is written); the worker's GlobalStoreUpdater reads it to its end before any task
 * processes a record, then keeps it current. Processors reach it by `storeName`.
 */
export interface GlobalStoreSpec {
  readonly storeName: string;
  readonly topic: string;
  /** The source and processor names describe() prints for it. */
  readonly sourceName: string;
  readonly processorName: string;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
}
