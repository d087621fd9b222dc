import type { Cancellable, PunctuationType } from "../processor/punctuation-type.js";
import type { ProcessorStateStore } from "@tributary/state";
import type { RecordMetadata, StreamRecord } from "./stream-record.js";

/**
 * The processor a task runs: the DSL's operators implement it directly on plain records;
 * a user's processor (src/processor/, the public Processor API) runs behind a
 * ProcessorAdapter. A processor handles one record at a time, synchronously, and forwards
 * what it makes to its children through its context. It is created once per task by its supplier, so
 * per-task state (a store handle) may live in its fields.
 */
export interface Processor<KIn, VIn, KOut = KIn, VOut = VIn> {
  init?(context: ProcessorContext<KOut, VOut>): void;
  process(record: StreamRecord<KIn, VIn>): void;
  /**
   * Stream time moved without a record: a task reading internal topics keeps event time
   * from its upstream tasks' watermarks (docs/streams-runtime.md). A processor that emits
   * on time (suppression) does it here as well as in `process`.
   */
  streamTimeAdvanced?(time: number): void;
  close?(): void;
}

export type { Cancellable, PunctuationType } from "../processor/punctuation-type.js";

export interface ProcessorContext<KOut, VOut> {
  readonly applicationId: string;
  readonly taskId: string;
  /**
   * Sends a record to every child, or only to the child with this name. The record is not
   * changed once forwarded: a sink may hold it until the poll's outputs are sent.
   */
  forward(record: StreamRecord<KOut, VOut>, childName?: string): void;
  getStateStore<S extends ProcessorStateStore>(name: string): S;
  /** The task's stream time: the largest timestamp it has seen, or for a task reading
   * internal topics on a worker, the low watermark of its upstream tasks; -1 before any. */
  streamTime(): number;
  wallClockTime(): number;
  /** Where the record being processed came from; null inside a punctuation. */
  recordMetadata(): RecordMetadata | null;
  schedule(
    intervalMs: number,
    type: PunctuationType,
    callback: (time: number) => void,
  ): Cancellable;
  /** Commit once the current batch is done, not at the next interval. */
  requestCommit(): void;
}
