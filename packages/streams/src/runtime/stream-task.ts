import { type LogRecord, Serdes } from "@tributary/log";
import {
  PersistentKeyValueStore,
  PersistentSessionStore,
  PersistentWindowStore,
  type StateStore,
} from "@tributary/state";
import { isProcessorBug, ProcessingError } from "../errors.js";
import type { SourceSpec, StoreSpec } from "../topology/node-spec.js";
import type { SubTopology } from "../topology/topology.js";
import { deadLetterRecord, errorMessage, type FailureStage } from "./dead-letter.js";
import type { EventTime } from "./event-time.js";
import type { Cancellable, PunctuationType } from "./processor.js";
import { ProcessorNode, type TaskServices } from "./processor-node.js";
import type { RecordCollector } from "./record-collector.js";
import { SinkProcessor } from "./sink-processor.js";
import type { RecordMetadata } from "./stream-record.js";
import { decodeWatermark, isWatermarkRecord } from "./watermark-record.js";

/** What to do with a record that cannot be decoded or whose processing throws. */
export type ErrorHandling = "dead-letter" | "fail";

export interface StreamTaskOptions {
  applicationId: string;
  subtopology: SubTopology;
  partition: number;
  collector: RecordCollector;
  /** Opens (or hands over an already restored) store for this task. */
  openStore(spec: StoreSpec, taskId: string): StateStore;
  errorHandling: ErrorHandling;
  deadLetterTopic: string;
  /** Wall clock in ms; the test driver passes its mock clock. */
  clock?: () => number;
  /**
   * Stream time to start from: the worker passes what it committed with the input offsets,
   * so a task that moves or restarts drops the same late records an uninterrupted one would.
   */
  streamTime?: number;
  /**
   * Record cache per aggregation store (the worker's `cacheMaxBytes`): aggregates forward
   * on cache flush instead of per update. Default 0 (the test driver: every update).
   */
  recordCacheBytes?: number;
  /**
   * Event time from the upstream writers' watermarks, for a task reading internal topics
   * (the worker; docs/streams-runtime.md "Event time across sub-topologies"). Absent (the
   * test driver, a task reading only source topics): stream time is the largest record
   * time seen, as in Kafka Streams.
   */
  eventTime?: EventTime;
  /** Internal topics among the sources: their watermark records are taken out. */
  internalTopics?: ReadonlySet<string>;
  /** The worker's global stores (globalTable()), readable by the processors connected
   * to them; the task neither commits nor closes them. */
  globalStores?: ReadonlyMap<string, StateStore>;
}

interface Punctuator {
  intervalMs: number;
  type: PunctuationType;
  callback: (time: number) => void;
  /** Next time it fires; NaN until stream time is known. */
  next: number;
  cancelled: boolean;
}

interface SourceEntry {
  spec: SourceSpec;
  node: ProcessorNode;
  /** Bytes in, bytes out, event time as written: the log record itself is the stream
   * record (it has every field a StreamRecord has), with nothing to decode or allocate. */
  raw: boolean;
  /** An internal topic: carries watermark records, and its records do not move time
   * when the task keeps event time. */
  internal: boolean;
}

const BYTES = Serdes.bytes();
/**
 * How many records processSlice runs between looks at the clock: a clock read costs
 * 150-250 ns on the shared VM, a stateless record about 1.7 µs, so one read per 16
 * records stays under 1%.
 */
const SLICE_CHECK_RECORDS = 16;

const passThrough = { process() {} };

/**
 * One sub-topology working on one partition of its inputs: owns its processors and
 * stores, keeps stream time (the largest timestamp seen), runs punctuations, and routes
 * records that fail to the dead-letter topic or stops, by `errorHandling`. Processing is
 * synchronous; the caller (the runtime, or the test driver) feeds batches and commits.
 * Not thread-safe.
 *
 * Failure contract: a record that throws part-way may already have sent some outputs
 * (at-least-once, as in Kafka); the dead-letter copy is the record as read.
 */
export class StreamTask implements TaskServices {
  readonly id: string;
  readonly applicationId: string;
  private readonly sources = new Map<string, SourceEntry>();
  private readonly stores = new Map<string, StateStore>();
  private readonly nodes: ProcessorNode[] = [];
  private readonly punctuators: Punctuator[] = [];
  private readonly clock: () => number;
  private time = -1;
  private readonly eventTime: EventTime | null;
  /** The record being processed (null topic: none, e.g. inside a punctuation). */
  private currentTopic: string | null = null;
  private currentPartition = 0;
  private currentOffset = 0;
  private failedNode: string | null = null;
  private closed = false;
  /** A processor asked for a commit (context.commit()); the runtime clears it on commit. */
  commitRequested = false;
  /** Records routed to the dead-letter topic since the task started. */
  deadLettered = 0;
  /** Of those, the records that could not be decoded. */
  deserializationFailed = 0;

  constructor(private readonly options: StreamTaskOptions) {
    const sub = options.subtopology;
    this.id = sub.taskId(options.partition);
    this.applicationId = options.applicationId;
    this.clock = options.clock ?? Date.now;
    this.time = options.streamTime ?? -1;
    this.eventTime = options.eventTime ?? null;
    if (this.eventTime !== null && this.eventTime.time > this.time) this.time = this.eventTime.time;
    const internal = options.internalTopics ?? new Set<string>();
    const cacheBytes = options.recordCacheBytes ?? 0;
    for (const spec of sub.stores) {
      const store = options.openStore(spec, this.id);
      if (
        cacheBytes > 0 &&
        (store instanceof PersistentKeyValueStore ||
          store instanceof PersistentWindowStore ||
          store instanceof PersistentSessionStore)
      ) {
        store.enableRecordCache(cacheBytes);
      }
      this.stores.set(spec.name, store);
    }
    const byName = new Map<string, ProcessorNode>();
    for (const n of sub.nodes) {
      let processor: ProcessorNode;
      if (n.kind === "source") {
        processor = new ProcessorNode(n.name, passThrough, this, []);
        const raw = n.keySerde === BYTES && n.valueSerde === BYTES && n.timestampExtractor === null;
        for (const t of n.topics) {
          this.sources.set(t, { spec: n, node: processor, raw, internal: internal.has(t) });
        }
      } else if (n.kind === "sink") {
        const sink = new SinkProcessor(n.topic, n.keySerde, n.valueSerde, options.collector);
        processor = new ProcessorNode(n.name, sink, this, []);
      } else {
        processor = new ProcessorNode(n.name, n.supplier(), this, n.stores);
      }
      for (const p of n.predecessors) byName.get(p)!.addChild(processor);
      byName.set(n.name, processor);
      this.nodes.push(processor);
    }
    for (const node of this.nodes) node.init();
    if (this.eventTime !== null) this.expireStoresBy(this.time);
  }

  /** Window and session stores of a task keeping event time expire behind it, not behind
   * the largest time put (which a fast upstream task runs ahead). */
  private expireStoresBy(time: number): void {
    for (const s of this.stores.values()) {
      (s as { expireBy?: (t: number) => void }).expireBy?.(time);
    }
  }

  get taskId(): string {
    return this.id;
  }

  get partition(): number {
    return this.options.partition;
  }

  get sourceTopics(): readonly string[] {
    return this.options.subtopology.sourceTopics;
  }

  /**
   * Processes a fetched batch of one partition, in order. Returns how many were the app's
   * input: the rest were watermark records of upstream tasks, the runtime's own.
   */
  processBatch(topic: string, partition: number, records: readonly LogRecord[]): number {
    return this.processSlice(topic, partition, records, 0, Number.POSITIVE_INFINITY).input;
  }

  /**
   * processBatch for a runtime that must not hold the event loop (heartbeats, fetches and
   * acks run on it): processes `records` from `from` on, and stops early once
   * `performance.now()` passes `deadline` (looked at every SLICE_CHECK_RECORDS records, so
   * the clock costs nothing per record). Returns where it stopped and how many were input.
   */
  processSlice(
    topic: string,
    partition: number,
    records: readonly LogRecord[],
    from: number,
    deadline: number,
  ): { next: number; input: number } {
    if (from >= records.length) return { next: from, input: 0 };
    const source = this.source(topic, partition, records[from]!);
    let input = 0;
    let i = from;
    while (i < records.length) {
      if (this.run(source, topic, partition, records[i]!)) input++;
      i++;
      if ((i - from) % SLICE_CHECK_RECORDS === 0 && performance.now() >= deadline) break;
    }
    return { next: i, input };
  }

  process(topic: string, partition: number, record: LogRecord): void {
    this.run(this.source(topic, partition, record), topic, partition, record);
  }

  private source(topic: string, partition: number, record: LogRecord): SourceEntry {
    const source = this.sources.get(topic);
    if (source === undefined) {
      throw new ProcessingError(
        `task ${this.id} does not read topic '${topic}' (it reads ${[...this.sources.keys()].join(", ")})`,
        { topic, partition, offset: record.offset, taskId: this.id, processor: null },
        undefined,
      );
    }
    return source;
  }

  /** Runs one record through the topology; false for a watermark record (not input). */
  private run(source: SourceEntry, topic: string, partition: number, record: LogRecord): boolean {
    const spec = source.spec;
    if (source.internal && isWatermarkRecord(record)) {
      this.onWatermark(topic, record);
      return false;
    }
    const keepsEventTime = this.eventTime !== null;
    // where the record came from, as fields: recordMetadata() builds the object only
    // when a processor asks (rarely), not once per record
    this.currentTopic = topic;
    this.currentPartition = partition;
    this.currentOffset = record.offset;
    this.failedNode = null;
    let stage: FailureStage = "deserialization";
    try {
      if (source.raw) {
        stage = "processing";
        if (keepsEventTime) this.sourceTime(source, topic, record.timestamp);
        else if (record.timestamp > this.time) this.time = record.timestamp;
        source.node.forward(record);
      } else {
        const key = record.key === null ? null : spec.keySerde.deserialize(record.key);
        const value = record.value === null ? null : spec.valueSerde.deserialize(record.value);
        let timestamp = record.timestamp;
        if (spec.timestampExtractor !== null) {
          stage = "timestamp";
          timestamp = spec.timestampExtractor(
            { key, value, timestamp, topic, partition, offset: record.offset },
            this.time,
          );
          if (!Number.isFinite(timestamp) || timestamp < 0) {
            throw new RangeError(
              `the timestamp extractor returned ${timestamp}: return a time in ms since the epoch (>= 0)`,
            );
          }
        }
        stage = "processing";
        if (keepsEventTime) this.sourceTime(source, topic, timestamp);
        else if (timestamp > this.time) this.time = timestamp;
        source.node.forward({ key, value, timestamp, headers: record.headers });
      }
    } catch (e) {
      this.fail(record, e, stage);
    } finally {
      this.currentTopic = null;
    }
    if (this.punctuators.length > 0) this.punctuate("stream-time", this.time);
    return true;
  }

  /** A source record moves event time only when it comes from a source topic. */
  private sourceTime(source: SourceEntry, topic: string, t: number): void {
    if (source.internal) return;
    if (this.eventTime!.onSourceRecord(topic, t, this.clock())) {
      this.time = this.eventTime!.time;
      this.expireStoresBy(this.time);
    }
  }

  private onWatermark(topic: string, record: LogRecord): void {
    const w = decodeWatermark(record);
    // a writer's watermark read by a task that does not keep event time (the test driver
    // pipes none; a worker always does): nothing to take from it
    if (w === undefined || this.eventTime === null) return;
    if (this.eventTime.onWatermark(topic, w)) this.advanceEventTime();
  }

  /**
   * Moves stream time to what the event time says, if it is further (a watermark came, or
   * an input became idle): the processors that act on time alone (suppression) and the
   * stream-time punctuations run then, with no record.
   */
  advanceEventTime(): void {
    const t = this.eventTime?.time ?? -1;
    if (t <= this.time) return;
    this.time = t;
    this.expireStoresBy(t);
    for (const n of this.nodes) n.streamTimeAdvanced(t);
    if (this.punctuators.length > 0) this.punctuate("stream-time", t);
  }

  /** The task's event time keeper; null when stream time is the largest time seen. */
  eventTimeKeeper(): EventTime | null {
    return this.eventTime;
  }

  /** Fires wall-clock punctuations that are due at `now`. */
  advanceWallClock(now: number): void {
    this.punctuate("wall-clock-time", now);
  }

  store(name: string): StateStore | undefined {
    return this.stores.get(name) ?? this.options.globalStores?.get(name);
  }

  storeNames(): string[] {
    return [...this.stores.keys()];
  }

  streamTime(): number {
    return this.time;
  }

  wallClockTime(): number {
    return this.clock();
  }

  recordMetadata(): RecordMetadata | null {
    const topic = this.currentTopic;
    if (topic === null) return null;
    return { topic, partition: this.currentPartition, offset: this.currentOffset };
  }

  schedule(
    intervalMs: number,
    type: PunctuationType,
    callback: (time: number) => void,
  ): Cancellable {
    if (!(intervalMs >= 1)) {
      throw new RangeError(`a punctuation interval must be at least 1 ms, got ${intervalMs}`);
    }
    const start = type === "wall-clock-time" ? this.clock() : this.time;
    const p: Punctuator = {
      intervalMs,
      type,
      callback,
      next: start < 0 ? Number.NaN : nextPunctuation(type, start, intervalMs),
      cancelled: false,
    };
    this.punctuators.push(p);
    return {
      cancel: () => {
        p.cancelled = true;
        const i = this.punctuators.indexOf(p);
        if (i >= 0) this.punctuators.splice(i, 1);
      },
    };
  }

  requestCommit(): void {
    this.commitRequested = true;
  }

  noteFailure(node: string): void {
    if (this.failedNode === null) this.failedNode = node;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const n of this.nodes) n.close();
    for (const s of this.stores.values()) s.close();
  }

  private punctuate(type: PunctuationType, now: number): void {
    for (const p of [...this.punctuators]) {
      if (p.type !== type || p.cancelled || now < 0) continue;
      if (Number.isNaN(p.next)) {
        p.next = nextPunctuation(type, now, p.intervalMs);
        continue;
      }
      if (now >= p.next) {
        // one call per due point would flood after a long pause; Kafka fires once and
        // moves the schedule past now
        p.next = nextPunctuation(type, now, p.intervalMs, p.next);
        p.callback(now);
      }
    }
  }

  private fail(record: LogRecord, error: unknown, stage: FailureStage): void {
    // a bug in the topology's code, not a poison record: dead-lettering it would drop
    // good records
    if (isProcessorBug(error)) throw error;
    const where = {
      topic: this.currentTopic!,
      partition: this.currentPartition,
      offset: record.offset,
      taskId: this.id,
      processor: stage === "processing" ? this.failedNode : null,
    };
    if (this.options.errorHandling === "dead-letter") {
      this.deadLettered++;
      if (stage === "deserialization") this.deserializationFailed++;
      this.options.collector.send(
        this.options.deadLetterTopic,
        deadLetterRecord(record, error, { ...where, stage }),
      );
      return;
    }
    const verb = stage === "deserialization" ? "decode" : "process";
    const inNode = where.processor === null ? "" : ` in ${where.processor}`;
    throw new ProcessingError(
      `cannot ${verb} the record at ${where.topic}-${where.partition} offset ${where.offset} (task ${this.id}${inNode}): ${errorMessage(error)}. Fix the ${stage === "deserialization" ? "serde or the producer" : "processing code"}, or set errorHandling: "dead-letter" to route such records to '${this.options.deadLetterTopic}' and go on`,
      where,
      error,
    );
  }
}

/**
 * When a punctuator fires next after `now`: stream time on the next multiple of the
 * interval (the same points in a replay, whatever the batch boundaries); wall-clock time
 * on the schedule it started (`from`, else `now`), moved past `now`.
 */
function nextPunctuation(
  type: PunctuationType,
  now: number,
  intervalMs: number,
  from = now,
): number {
  if (type === "stream-time") return (Math.floor(now / intervalMs) + 1) * intervalMs;
  return now - ((now - from) % intervalMs) + intervalMs;
}
