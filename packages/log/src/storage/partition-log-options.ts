import type { Logger } from "pino";
import type { IsolationLevel } from "../client/isolation-level.js";
import type { TopicConfig } from "../topic-config.js";

export interface PartitionLogOptions {
  topic: string;
  partition: number;
  config: TopicConfig;
  /** Clock for segment.ms, retention and the first-append time of a segment; default Date.now. */
  now?: () => number;
  /**
   * Storage events: a write that failed and resumed, deletions by retention (info),
   * truncations and damage found at open (warn). Default: warnings on stderr.
   */
  logger?: Logger;
  /**
   * How long an idempotent producer with no append is remembered (Kafka's
   * producer.id.expiration.ms); default one day.
   */
  producerIdExpirationMs?: number;
}

export interface ReadOptions {
  /**
   * Check each returned batch's CRC (default true). A corrupt batch is never returned: it
   * throws CorruptRecordError naming the segment file, byte position and offset when it
   * comes first, and ends the result before it otherwise. CRC-32C runs at several GB/s, so
   * the check costs little next to the read; a caller that verifies itself may turn it off.
   */
  verify?: boolean;
  /** "read_committed" serves only offsets below the last stable offset. Default read_uncommitted. */
  isolation?: IsolationLevel;
}
