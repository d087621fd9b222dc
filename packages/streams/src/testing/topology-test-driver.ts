import type { LogRecord, ProducerRecord } from "@tributary/log";
import type { Observable } from "rxjs";
import type { App } from "../dsl/define-app.js";
import { StreamsClosedError, UnknownStoreError, UnknownStreamsTopicError } from "../errors.js";
import { InMemoryKeyValueStore } from "../runtime/in-memory-key-value-store.js";
import type { KeyValueStore, StoreChange } from "../runtime/key-value-store.js";
import type { RecordCollector } from "../runtime/record-collector.js";
import { StreamTask } from "../runtime/stream-task.js";
import { storeChanges$ } from "../rx/store-changes.js";
import { Serdes, type Serde } from "../serdes.js";
import type { Topology } from "../topology/topology.js";
import { TestInputTopic, type TestInputTopicOptions } from "./test-input-topic.js";
import { TestOutputTopic } from "./test-output-topic.js";

export interface TopologyTestDriverOptions {
  /** The mock wall clock's start, and the default start time of input topics (ms). */
  initialTime?: number;
}

interface StoredRecord extends LogRecord {}

/**
 * Runs an app's topology in memory, synchronously, as one partition (Kafka's
 * TopologyTestDriver): one task per sub-topology, in-memory stores, and topics as arrays.
 * Piping a record processes it to completion before returning — including every record it
 * sends through repartition topics (or to any topic the topology also reads) — so outputs
 * and stores can be checked right after. Every store update is forwarded (no cache), so
 * outputs show every intermediate aggregate. Time moves only by hand.
 */
export class TopologyTestDriver {
  readonly topology: Topology;
  private readonly tasks: StreamTask[] = [];
  private readonly taskByTopic = new Map<string, StreamTask>();
  private readonly stores = new Map<string, InMemoryKeyValueStore<unknown, unknown>>();
  private readonly topics = new Map<string, { records: StoredRecord[]; read: number }>();
  private readonly pending: { topic: string; record: LogRecord }[] = [];
  private readonly nextOffset = new Map<string, number>();
  private wallClock: number;
  private draining = false;
  private closed = false;

  constructor(
    readonly app: App,
    options: TopologyTestDriverOptions = {},
  ) {
    this.wallClock = options.initialTime ?? 0;
    this.topology = app.build();
    const collector: RecordCollector = { send: (topic, record) => this.append(topic, record) };
    for (const sub of this.topology.subtopologies) {
      const task = new StreamTask({
        applicationId: app.applicationId,
        subtopology: sub,
        partition: 0,
        collector,
        openStore: (spec) => {
          const store = new InMemoryKeyValueStore(spec.name, spec.keySerde, spec.valueSerde);
          this.stores.set(spec.name, store);
          return store;
        },
        errorHandling: app.config.errorHandling,
        deadLetterTopic: app.config.deadLetterTopic,
        clock: () => this.wallClock,
      });
      this.tasks.push(task);
      for (const t of sub.sourceTopics) this.taskByTopic.set(t, task);
    }
  }

  createInputTopic<K = unknown, V = unknown>(
    topic: string,
    keySerde?: Serde<K>,
    valueSerde?: Serde<V>,
    options: TestInputTopicOptions = {},
  ): TestInputTopic<K, V> {
    this.checkOpen();
    const source = this.topology.subtopologyReading(topic)?.sources.get(topic);
    if (source === undefined) {
      throw new UnknownStreamsTopicError(
        `the topology does not read topic '${topic}' (it reads: ${this.topology.sourceTopics().join(", ") || "nothing"})`,
      );
    }
    return new TestInputTopic<K, V>(
      this,
      topic,
      keySerde ?? (source.keySerde as Serde<K>),
      valueSerde ?? (source.valueSerde as Serde<V>),
      {
        startTimestamp: options.startTimestamp ?? this.wallClock,
        autoAdvanceMs: options.autoAdvanceMs ?? 0,
      },
    );
  }

  /** Any topic can be read; serdes default to those of a sink writing it (bytes for the
   * dead-letter topic). */
  createOutputTopic<K = unknown, V = unknown>(
    topic: string,
    keySerde?: Serde<K>,
    valueSerde?: Serde<V>,
  ): TestOutputTopic<K, V> {
    this.checkOpen();
    let k: Serde<unknown> | undefined;
    let v: Serde<unknown> | undefined;
    if (topic === this.app.config.deadLetterTopic) {
      k = Serdes.bytes() as Serde<unknown>;
      v = Serdes.bytes() as Serde<unknown>;
    }
    for (const sub of this.topology.subtopologies) {
      for (const n of sub.nodes) {
        if (n.kind === "sink" && n.topic === topic) {
          k ??= n.keySerde;
          v ??= n.valueSerde;
        }
      }
    }
    return new TestOutputTopic<K, V>(
      this,
      topic,
      keySerde ?? ((k ?? Serdes.msgpack()) as Serde<K>),
      valueSerde ?? ((v ?? Serdes.msgpack()) as Serde<V>),
    );
  }

  getKeyValueStore<K = unknown, V = unknown>(name: string): KeyValueStore<K, V> {
    return this.store(name) as unknown as KeyValueStore<K, V>;
  }

  /** Every change to the named store, as it happens. */
  storeChanges$<K = unknown, V = unknown>(name: string): Observable<StoreChange<K, V>> {
    return storeChanges$(this.store(name) as unknown as InMemoryKeyValueStore<K, V>);
  }

  /** Moves the mock wall clock and fires wall-clock punctuations that are due. */
  advanceWallClockTime(ms: number): void {
    this.checkOpen();
    this.wallClock += ms;
    for (const t of this.tasks) t.advanceWallClock(this.wallClock);
    this.drain();
  }

  /** Topics written so far (outputs, repartition topics, the dead-letter topic). */
  producedTopicNames(): string[] {
    return [...this.topics.keys()];
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.tasks) t.close();
  }

  /** @internal Appends an input record and processes it to completion. */
  pipe(topic: string, record: ProducerRecord): void {
    this.checkOpen();
    const task = this.taskByTopic.get(topic);
    if (task === undefined) {
      throw new UnknownStreamsTopicError(`the topology does not read topic '${topic}'`);
    }
    this.pending.push({ topic, record: this.toLogRecord(topic, record) });
    this.drain();
  }

  /** @internal */
  readOutput(topic: string): LogRecord | undefined {
    this.checkOpen();
    const t = this.topics.get(topic);
    if (t === undefined || t.read >= t.records.length) return undefined;
    return t.records[t.read++];
  }

  /** @internal */
  outputSize(topic: string): number {
    const t = this.topics.get(topic);
    return t === undefined ? 0 : t.records.length - t.read;
  }

  private append(topic: string, record: ProducerRecord): void {
    const log = this.toLogRecord(topic, record);
    let t = this.topics.get(topic);
    if (t === undefined) {
      t = { records: [], read: 0 };
      this.topics.set(topic, t);
    }
    t.records.push(log);
    if (this.taskByTopic.has(topic)) this.pending.push({ topic, record: log });
  }

  private drain(): void {
    // processing sends records to repartition topics; they are processed here, after the
    // record that made them, never re-entrantly inside it
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.pending.length > 0) {
        const { topic, record } = this.pending.shift()!;
        this.taskByTopic.get(topic)!.process(topic, 0, record);
      }
    } finally {
      this.draining = false;
      this.pending.length = 0;
    }
  }

  private toLogRecord(topic: string, r: ProducerRecord): LogRecord {
    const offset = this.nextOffset.get(topic) ?? 0;
    this.nextOffset.set(topic, offset + 1);
    const headers: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(r.headers ?? {})) {
      headers[k] = typeof v === "string" ? Buffer.from(v, "utf8") : v;
    }
    return {
      offset,
      timestamp: r.timestamp ?? this.wallClock,
      key: r.key ?? null,
      value: r.value,
      headers,
    };
  }

  private store(name: string): InMemoryKeyValueStore<unknown, unknown> {
    this.checkOpen();
    const s = this.stores.get(name);
    if (s === undefined) throw new UnknownStoreError(name, [...this.stores.keys()]);
    return s;
  }

  private checkOpen(): void {
    if (this.closed) throw new StreamsClosedError("the TopologyTestDriver");
  }
}
