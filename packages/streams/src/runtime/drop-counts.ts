import { droppedRecords } from "../windows/dropped-records.js";
import type { StreamTask } from "./stream-task.js";

/**
 * Records a worker's tasks did not turn into output, by why (the metrics `tributary run`
 * reports, so nothing is dropped without a word):
 * - deadLettered: processing or decoding threw, the record went to the dead-letter topic;
 * - deserializationFailed: of those, the ones that could not be decoded;
 * - late: refused by a windowed operation or join because their window had closed
 *   (late or expired; Kafka's dropped-records).
 */
export interface DropCounts {
  deadLettered: number;
  deserializationFailed: number;
  late: number;
}

export function noDrops(): DropCounts {
  return { deadLettered: 0, deserializationFailed: 0, late: 0 };
}

/** Adds what one task dropped (its own counters and its stores') to `into`. */
export function addTaskDrops(into: DropCounts, task: StreamTask, stores: readonly object[]): void {
  into.deadLettered += task.deadLettered;
  into.deserializationFailed += task.deserializationFailed;
  for (const s of stores) into.late += droppedRecords(s);
}
