import type { RecordMetadata } from "../runtime/stream-record.js";
import type { ProcessorStateStore } from "@tributary/state";
import type { Cancellable, PunctuationType, Punctuator } from "./punctuation-type.js";
import type { Record } from "./record.js";

/**
 * What a custom processor sees of the task running it (Kafka's api.ProcessorContext),
 * handed to `init`. One context per processor per task; keep it in a field.
 */
export interface ProcessorContext<KOut, VOut> {
  readonly applicationId: string;
  /** `<subtopology>_<partition>`: the task, and so the partition of every store. */
  readonly taskId: string;
  /**
   * Sends a record to every child (the DSL operations chained after `process`), or only
   * to the child with this name: a downstream node named with `{ name }`. An unknown
   * name throws UnknownChildError, naming the children there are.
   */
  forward(record: Record<KOut, VOut>, childName?: string): void;
  /**
   * Runs `punctuator` every `intervalMs` of stream time or of wall-clock time (see
   * PunctuationType); it may forward and use stores like `process`.
   */
  schedule(intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable;
  /**
   * A store connected to this processor: added with `builder.addStateStore(...)` and named
   * in `process(supplier, ...storeNames)`. Any other name throws StoreNotConnectedError.
   */
  getStateStore<S extends ProcessorStateStore>(name: string): S;
  /** Topic, partition and offset of the record being processed; null in a punctuation. */
  recordMetadata(): RecordMetadata | null;
  /** The task's stream time (see PunctuationType.STREAM_TIME); -1 before any record. */
  currentStreamTimeMs(): number;
  /** The wall clock (the test driver's mock clock under test). */
  currentSystemTimeMs(): number;
  /**
   * Asks for a commit as soon as the current batch is done, instead of at the next commit
   * interval (Kafka's `commit()`): stores, outputs and input offsets, in the usual order.
   * The test driver has nothing to commit and ignores it.
   */
  commit(): void;
}
