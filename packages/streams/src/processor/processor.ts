import type { ProcessorContext } from "./processor-context.js";
import type { Record } from "./record.js";

/**
 * A custom processor (Kafka's api.Processor), run by `KStream.process`: `init` once per
 * task with its context (fetch stores, schedule punctuators), `process` for each record,
 * synchronously, `close` when the task closes. One instance per task, made by the
 * supplier, so per-task state may live in fields; what must survive a restart goes in a
 * store.
 */
export interface Processor<KIn, VIn, KOut = KIn, VOut = VIn> {
  init?(context: ProcessorContext<KOut, VOut>): void;
  process(record: Record<KIn, VIn>): void;
  close?(): void;
}

/** Makes a new processor for each task; must not return a shared instance. */
export type ProcessorSupplier<KIn, VIn, KOut = KIn, VOut = VIn> = () => Processor<
  KIn,
  VIn,
  KOut,
  VOut
>;

/**
 * A processor that keeps each record's key (Kafka's FixedKeyProcessor), run by
 * `KStream.processValues`: downstream needs no repartition. Forwarding a record whose key
 * is not the input record's key throws.
 */
export type FixedKeyProcessor<K, VIn, VOut = VIn> = Processor<K, VIn, K, VOut>;

export type FixedKeyProcessorSupplier<K, VIn, VOut = VIn> = () => FixedKeyProcessor<K, VIn, VOut>;
