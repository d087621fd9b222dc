import type { LogRecord, ProducerRecord } from "@tributary/log";
import type { Observable } from "rxjs";
import type { App } from "../dsl/define-app.js";
import {
  StreamsArgumentError,
  StreamsClosedError,
  UnknownStoreError,
  UnknownStreamsTopicError,
} from "../errors.js";
import type { StoreSpec } from "../topology/node-spec.js";
import { droppedRecords } from "../windows/dropped-records.js";
import { InMemorySessionStore } from "../windows/in-memory-session-store.js";
import { InMemoryWindowStore } from "../windows/in-memory-window-store.js";
import type { ReadableSessionStore, ReadableWindowStore } from "../windows/window-store.js";
import { GlobalKeyValueStore } from "../runtime/global-key-value-store.js";
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
  /** Partition counts of input topics: joins' co-partitioning is checked against them. */
  topicPartitions?: Readonly<Record<string, number>>;
  /**
   * Simulates a restart: the new driver's stores are restored from the changelogs the
   * given (closed or open) driver wrote, as a task on a new worker restores them; stream
   * time starts over.
   */
  restoreFrom?: TopologyTestDriver;
}

type DriverStore =
  | InMemoryKeyValueStore<unknown, unknown>
  | InMemoryWindowStore<unknown, unknown>
  | InMemorySessionStore<unknown, unknown>;

interface ChangelogRecord {
  key: Buffer;
  value: Buffer | null;
}

interface StoredRecord extends LogRecord {}

/**
 * Runs an app's topology in memory, synchronously, as one partition (Kafka's
 * TopologyTestDriver): one task per sub-topology, in-memory stores, and topics as arrays.
 * Piping a record processes it to completion before returning — including every record it
 * sends through repartition topics (or to any topic the topology also reads) — so outputs
 * and stores can be checked right after. Window and session stores are in memory too,
 * with the retention of the real ones; every store logs its changes so that a second
 * driver can start from them (`restoreFrom`, a simulated restart). Every store update is forwarded (no cache), so
 * outputs show every intermediate aggregate. Time moves only by hand.
 */
export class TopologyTestDriver {
  readonly topology: Topology;
  private readonly tasks: StreamTask[] = [];
  private readonly taskByTopic = new Map<string, StreamTask>();
  private readonly stores = new Map<string, DriverStore>();
  /** Global tables: topic -> its store, updated as records are piped to the topic. */
  private readonly globals = new Map<string, GlobalKeyValueStore<unknown, unknown>>();
  /** Changelog topic → every change its store logged, in order (for restoreFrom). */
  private readonly changelogs = new Map<string, ChangelogRecord[]>();
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
    const partitions = options.topicPartitions;
    this.topology = app.build(
      partitions === undefined ? {} : { partitionsOf: (t: string) => partitions[t] },
    );
    const restoreFrom = options.restoreFrom;
    const collector: RecordCollector = { send: (topic, record) => this.append(topic, record) };
    for (const g of this.topology.globalStores) {
      this.globals.set(g.topic, new GlobalKeyValueStore(g.storeName, g.keySerde, g.valueSerde));
    }
    const globalStores = new Map([...this.globals.values()].map((g) => [g.name, g]));
    for (const sub of this.topology.subtopologies) {
      const task = new StreamTask({
        applicationId: app.applicationId,
        subtopology: sub,
        partition: 0,
        collector,
        openStore: (spec) => {
          const store = this.openStore(spec, restoreFrom);
          this.stores.set(spec.name, store);
          return store;
        },
        errorHandling: app.config.errorHandling,
        deadLetterTopic: app.config.deadLetterTopic,
        clock: () => this.wallClock,
        globalStores,
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
    const source =
      this.topology.subtopologyReading(topic)?.sources.get(topic) ??
      this.topology.globalStores.find((g) => g.topic === topic);
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

  /** A key-value store, or a global table's (read-only) store. */
  getKeyValueStore<K = unknown, V = unknown>(name: string): KeyValueStore<K, V> {
    const global = [...this.globals.values()].find((g) => g.name === name);
    if (global !== undefined) return global as unknown as KeyValueStore<K, V>;
    return this.store(name) as unknown as KeyValueStore<K, V>;
  }

  /** A window store (windowed aggregations, join buffers), read back with all()/fetch. */
  getWindowStore<K = unknown, V = unknown>(name: string): ReadableWindowStore<K, V> {
    const s = this.store(name);
    if (!(s instanceof InMemoryWindowStore)) {
      throw new StreamsArgumentError(`store '${name}' is not a window store`);
    }
    return s as unknown as ReadableWindowStore<K, V>;
  }

  getSessionStore<K = unknown, V = unknown>(name: string): ReadableSessionStore<K, V> {
    const s = this.store(name);
    if (!(s instanceof InMemorySessionStore)) {
      throw new StreamsArgumentError(`store '${name}' is not a session store`);
    }
    return s as unknown as ReadableSessionStore<K, V>;
  }

  /**
   * Records dropped because their window had closed (windowed aggregations, joins), over
   * every task; with `store`, only those of the operation owning that store.
   */
  droppedRecords(store?: string): number {
    if (store !== undefined) return droppedRecords(this.store(store));
    let n = 0;
    for (const s of this.stores.values()) n += droppedRecords(s);
    return n;
  }

  /** Every change to the named store, as it happens. */
  storeChanges$<K = unknown, V = unknown>(name: string): Observable<StoreChange<K, V>> {
    const s = this.store(name);
    if (!(s instanceof InMemoryKeyValueStore)) {
      throw new StreamsArgumentError(`store '${name}' is not a key-value store`);
    }
    return storeChanges$(s as unknown as InMemoryKeyValueStore<K, V>);
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
    if (task === undefined && !this.globals.has(topic)) {
      throw new UnknownStreamsTopicError(`the topology does not read topic '${topic}'`);
    }
    const log = this.toLogRecord(topic, record);
    if (this.applyGlobal(topic, log)) return;
    this.pending.push({ topic, record: log });
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
    this.applyGlobal(topic, log);
  }

  /** A record of a global table's topic updates its store at once (as a worker's
   * updater does before the next batch); true when `topic` is one. */
  private applyGlobal(topic: string, record: LogRecord): boolean {
    const store = this.globals.get(topic);
    if (store === undefined) return false;
    if (record.key !== null && record.key.length > 0) store.apply(record.key, record.value);
    return true;
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

  private openStore(spec: StoreSpec, restoreFrom: TopologyTestDriver | undefined): DriverStore {
    const topic = spec.changelogTopic;
    const log: ChangelogRecord[] = [];
    if (topic !== null) this.changelogs.set(topic, log);
    const restore = topic === null ? [] : (restoreFrom?.changelogs.get(topic) ?? []);
    if (spec.type === "window" || spec.type === "session") {
      const retention = spec.retentionMs ?? Number.MAX_SAFE_INTEGER;
      const store =
        spec.type === "window"
          ? new InMemoryWindowStore(
              spec.name,
              spec.keySerde,
              spec.valueSerde,
              retention,
              spec.retainDuplicates ?? false,
            )
          : new InMemorySessionStore(spec.name, spec.keySerde, spec.valueSerde, retention);
      for (const r of restore) {
        store.restore(r.key, r.value);
        log.push(r);
      }
      if (topic !== null) store.changeLogger = (key, value) => log.push({ key, value });
      return store;
    }
    const store = new InMemoryKeyValueStore(spec.name, spec.keySerde, spec.valueSerde);
    for (const r of restore) {
      store.put(
        spec.keySerde.deserialize(r.key),
        r.value === null ? null : spec.valueSerde.deserialize(r.value),
      );
      log.push(r);
    }
    if (topic !== null) {
      store.addChangeListener((c) => {
        log.push({
          key: spec.keySerde.serialize(c.key) as Buffer,
          value: c.newValue === null ? null : spec.valueSerde.serialize(c.newValue),
        });
      });
    }
    return store;
  }

  private store(name: string): DriverStore {
    this.checkOpen();
    const s = this.stores.get(name);
    if (s === undefined) throw new UnknownStoreError(name, [...this.stores.keys()]);
    return s;
  }

  private checkOpen(): void {
    if (this.closed) throw new StreamsClosedError("the TopologyTestDriver");
  }
}
