import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES } from "./broker/frame-codec.js";
import { InvalidConfigError } from "./errors.js";

/**
 * Per-topic configuration. Each field has the Kafka topic-config name it stands for, so
 * `--config retention.ms=3600000` means what it means on Kafka.
 *
 * Flush policy, and what a producer's acknowledgement means under it:
 * - "always": the append is fsynced (fdatasync) before it is acknowledged. Appends that
 *   arrive while an fsync runs share the next one (group commit). An acked record
 *   survives a process crash and a machine crash.
 * - "interval": the append is written to the OS page cache and acknowledged; an fsync
 *   runs every `flushIntervalMs`. An acked record survives a process crash (SIGKILL); a
 *   machine crash loses at most the last interval.
 * - "os": written to the page cache and acknowledged; the OS writes back when it chooses.
 *   An acked record survives a process crash, not a machine crash. Kafka's default.
 */
export type FlushPolicy = "always" | "interval" | "os";
export type CleanupPolicy = "delete" | "compact" | "compact,delete";

export interface TopicConfig {
  /** cleanup.policy */
  cleanupPolicy: CleanupPolicy;
  /** retention.ms: segments whose newest record is older are deleted; -1 keeps forever. */
  retentionMs: number;
  /** retention.bytes: per partition; oldest segments go when over; -1 for no limit. */
  retentionBytes: number;
  /** segment.bytes: the active segment rolls when it would grow past this. */
  segmentBytes: number;
  /** segment.ms: the active segment rolls when its first record is older than this. */
  segmentMs: number;
  /** delete.retention.ms: how long compaction keeps tombstones. */
  deleteRetentionMs: number;
  /** min.compaction.lag.ms: records younger than this are not compacted. */
  minCompactionLagMs: number;
  /** max.message.bytes: largest record batch accepted. */
  maxMessageBytes: number;
  /** index.interval.bytes: bytes between offset/time index entries. */
  indexIntervalBytes: number;
  /** flush policy (flush.messages=1 is "always"; flush.ms=N is "interval"). */
  flushPolicy: FlushPolicy;
  /** flush.ms when flushPolicy is "interval". */
  flushIntervalMs: number;
}

const DAY = 24 * 60 * 60 * 1000;
/** What a fetch answer holds besides one record batch: msgpack maps, topic name, offsets. */
const FETCH_ANSWER_OVERHEAD_BYTES = 64 * 1024;
/**
 * The largest max.message.bytes: a batch of this size still fits in one fetch answer (and
 * one produce request) of a broker with the default frame limit. A larger record could be
 * stored, embedded, and then never be read over the broker.
 */
export const MAX_MESSAGE_BYTES_LIMIT =
  DEFAULT_MAX_FRAME_BYTES - FRAME_HEADER_BYTES - FETCH_ANSWER_OVERHEAD_BYTES;
/** The longest delay setTimeout/setInterval honour. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const DEFAULT_TOPIC_CONFIG: Readonly<TopicConfig> = Object.freeze({
  cleanupPolicy: "delete",
  retentionMs: 7 * DAY,
  retentionBytes: -1,
  segmentBytes: 128 * 1024 * 1024,
  segmentMs: 7 * DAY,
  deleteRetentionMs: DAY,
  minCompactionLagMs: 0,
  maxMessageBytes: 8 * 1024 * 1024,
  indexIntervalBytes: 4096,
  flushPolicy: "os",
  flushIntervalMs: 1000,
});

/**
 * The record timestamp below which retention deletes records of a topic with this config
 * (now - retention.ms), or null when time retention is off (retention.ms=-1, or
 * cleanup.policy=compact). Retention deletes whole segments by their newest record, so an
 * old record is kept while newer ones share its segment; a topic whose records are all
 * older loses them at the next retention run (every 30 s on the broker).
 */
export function retentionHorizon(config: TopicConfig, now: number = Date.now()): number | null {
  if (config.retentionMs < 0 || !config.cleanupPolicy.includes("delete")) return null;
  return now - config.retentionMs;
}

/**
 * Whether a record stamped `timestamp` is already older than the topic's retention.ms:
 * stored, it would be deleted at the next retention run unless newer records share its
 * segment (what `produce` warns about).
 */
export function isPastRetention(
  config: TopicConfig,
  timestamp: number,
  now: number = Date.now(),
): boolean {
  const horizon = retentionHorizon(config, now);
  return horizon !== null && timestamp < horizon;
}

/** Kafka's config names, mapped to ours. */
const KAFKA_NAMES: Record<string, keyof TopicConfig> = {
  "cleanup.policy": "cleanupPolicy",
  "retention.ms": "retentionMs",
  "retention.bytes": "retentionBytes",
  "segment.bytes": "segmentBytes",
  "segment.ms": "segmentMs",
  "delete.retention.ms": "deleteRetentionMs",
  "min.compaction.lag.ms": "minCompactionLagMs",
  "max.message.bytes": "maxMessageBytes",
  "index.interval.bytes": "indexIntervalBytes",
  "flush.policy": "flushPolicy",
  "flush.ms": "flushIntervalMs",
};

export function kafkaConfigName(field: keyof TopicConfig): string {
  for (const [k, v] of Object.entries(KAFKA_NAMES)) if (v === field) return k;
  return field;
}

/** Parses `name=value` pairs using Kafka's names (as the CLI's --config does). */
export function parseTopicConfigEntries(entries: Record<string, string>): Partial<TopicConfig> {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(entries)) {
    if (name === "flush.messages") {
      if (raw !== "1") {
        throw new InvalidConfigError(
          `flush.messages=${raw} is not supported: use flush.messages=1 (fsync every append) or flush.ms=N`,
        );
      }
      out.flushPolicy = "always";
      continue;
    }
    const field = KAFKA_NAMES[name];
    if (field === undefined) {
      throw new InvalidConfigError(
        `unknown topic config '${name}': known are ${[...Object.keys(KAFKA_NAMES), "flush.messages"].join(", ")}`,
      );
    }
    if (field === "cleanupPolicy" || field === "flushPolicy") out[field] = raw;
    else {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new InvalidConfigError(`${name}=${raw}: expected a number`);
      out[field] = n;
      if (field === "flushIntervalMs" && entries["flush.policy"] === undefined) {
        out.flushPolicy = "interval";
      }
    }
  }
  return validateTopicConfig(out as Partial<TopicConfig>);
}

/** Fills defaults and checks every field; the error names the field and what to do. */
export function resolveTopicConfig(partial: Partial<TopicConfig> = {}): TopicConfig {
  return validateTopicConfig({ ...DEFAULT_TOPIC_CONFIG, ...partial }) as TopicConfig;
}

function validateTopicConfig(c: Partial<TopicConfig>): Partial<TopicConfig> {
  const bad = (field: keyof TopicConfig, why: string) =>
    new InvalidConfigError(`${kafkaConfigName(field)}=${String(c[field])}: ${why}`);
  if (
    c.cleanupPolicy !== undefined &&
    !["delete", "compact", "compact,delete"].includes(c.cleanupPolicy)
  ) {
    throw bad("cleanupPolicy", "expected delete, compact or compact,delete");
  }
  if (c.flushPolicy !== undefined && !["always", "interval", "os"].includes(c.flushPolicy)) {
    throw bad("flushPolicy", "expected always, interval or os");
  }
  const ints: [keyof TopicConfig, number][] = [
    ["retentionMs", -1],
    ["retentionBytes", -1],
    ["segmentBytes", 1024],
    ["segmentMs", 1],
    ["deleteRetentionMs", 0],
    ["minCompactionLagMs", 0],
    ["maxMessageBytes", 64],
    ["indexIntervalBytes", 1],
    ["flushIntervalMs", 1],
  ];
  for (const [field, min] of ints) {
    const v = c[field];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
      throw bad(field, `expected an integer >= ${min}`);
    }
  }
  if (c.maxMessageBytes !== undefined && c.maxMessageBytes > MAX_MESSAGE_BYTES_LIMIT) {
    throw bad(
      "maxMessageBytes",
      `expected at most ${MAX_MESSAGE_BYTES_LIMIT}: a record batch must fit in one broker frame (${DEFAULT_MAX_FRAME_BYTES} bytes) with room for the fetch answer around it, or it could be stored and never read; split large values into smaller records`,
    );
  }
  if (c.segmentBytes !== undefined && c.segmentBytes > 2 ** 31 - 1) {
    throw bad("segmentBytes", "expected at most 2147483647 (index positions are 32-bit)");
  }
  if (c.flushIntervalMs !== undefined && c.flushIntervalMs > MAX_TIMER_MS) {
    // Node runs a longer timer after 1 ms instead: an fsync every millisecond.
    throw bad(
      "flushIntervalMs",
      `expected at most ${MAX_TIMER_MS} (about 24.8 days, a timer's limit)`,
    );
  }
  return c;
}
