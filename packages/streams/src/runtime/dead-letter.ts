import type { LogRecord, ProducerRecord } from "@tributary/log";

/** Headers a dead-lettered record carries, besides its own. */
export const DeadLetterHeaders = {
  message: "tributary.error.message",
  class: "tributary.error.class",
  topic: "tributary.error.topic",
  partition: "tributary.error.partition",
  offset: "tributary.error.offset",
  /** "deserialization", "timestamp" or "processing" */
  stage: "tributary.error.stage",
  /** The processor that threw (absent for decode failures). */
  processor: "tributary.error.processor",
  task: "tributary.error.task",
} as const;

export type FailureStage = "deserialization" | "timestamp" | "processing";

export interface FailureContext {
  topic: string;
  partition: number;
  offset: number;
  taskId: string;
  stage: FailureStage;
  processor: string | null;
}

/**
 * The record as it was read (its own key, value bytes, timestamp and headers) plus the
 * error headers, so it can be inspected and replayed once the cause is fixed.
 */
export function deadLetterRecord(
  record: LogRecord,
  error: unknown,
  where: FailureContext,
): ProducerRecord {
  const headers: Record<string, Buffer | string> = { ...record.headers };
  headers[DeadLetterHeaders.message] = errorMessage(error);
  headers[DeadLetterHeaders.class] = errorClass(error);
  headers[DeadLetterHeaders.topic] = where.topic;
  headers[DeadLetterHeaders.partition] = String(where.partition);
  headers[DeadLetterHeaders.offset] = String(where.offset);
  headers[DeadLetterHeaders.stage] = where.stage;
  headers[DeadLetterHeaders.task] = where.taskId;
  if (where.processor !== null) headers[DeadLetterHeaders.processor] = where.processor;
  return { key: record.key, value: record.value, timestamp: record.timestamp, headers };
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function errorClass(e: unknown): string {
  if (e instanceof Error) {
    // a user class that did not set `name` still reports its own class
    return e.name !== "Error" ? e.name : e.constructor.name;
  }
  return typeof e;
}
