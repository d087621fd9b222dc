import type { LogRecord, ProducerRecord } from "@tributary/log";
import {
  PersistentSessionStore,
  PersistentWindowStore,
  type ObservableKeyValueStore,
  type ProcessorKeyValueStore,
  type ReadableSessionStore,
  type ReadableWindowStore,
  type StoreChange,
} from "@tributary/state";
import type { Observable } from "rxjs";
import type { App } from "../topology/app.js";
import {
  StreamsArgumentError,
  StreamsClosedError,
  UnknownStoreError,
  UnknownStreamsTopicError,
} from "../errors.js";
import { GlobalKeyValueStore } from "../runtime/global-key-value-store.js";
import { resolveLayout, type TopicLayout } from "../runtime/internal-topics.js";
import type { RecordCollector } from "../runtime/record-collector.js";
import type { RuntimeStore } from "../runtime/store-factory.js";
import { StreamTask } from "../runtime/stream-task.js";
import { eventTimeFor, watermarkPublisherFor } from "../runtime/task-time.js";
import { DEFAULT_IDLE_TIMEOUT_MS } from "../runtime/task-factory.js";
import type { WatermarkPublisher } from "../runtime/watermark-publisher.js";
import { storeChanges$ } from "../rx/store-changes.js";
import { Serdes, type Serde } from "../serdes.js";
import type { SubTopology, Topology } from "../topology/topology.js";
import { droppedRecords } from "../windows/dropped-records.js";
import { openDriverStore } from "./driver-stores.js";
import { DriverTopics } from "./driver-topics.js";
import {
  PartitionedKeyValueView,
  PartitionedSessionView,
  PartitionedWindowView,
} from "./partitioned-store-view.js";
import { TestInputTopic, type TestInputTopicOptions } from "./test-input-topic.js";
import { TestOutputTopic } from "./test-output-topic.js";
import type { TopologyTestDriverOptions } from "./topology-test-driver-options.js";

/** A task as the driver runs it, with what the task manager keeps beside it. */
interface DriverTask {
  task: StreamTask;
  sub: SubTopology;
  stores: Map<string, RuntimeStore>;
  watermarks: WatermarkPublisher | null;
  lastRecordAt: number;
}

/**
 * Runs an app's topology in memory, synchronously, as workers run it (Kafka's
 * TopologyTestDriver, grown to several partitions): one task per sub-topology and
 * partition, the stores of @tributary/state on the memory engine (write-back cache,
 * change-logging in the changelog format production writes, the record cache with
 * `cacheMaxBytes`), repartition topics carried between tasks with their watermarks, and
 * a commit in the worker's order. Topics are in-memory partitions. Time moves only by
 * hand: `advanceWallClockTime` fires punctuations and lets quiet inputs go idle (after the
 * app's `idleTimeoutMs`), which closes the last windows as on a live worker.
 */
export class TopologyTestDriver {
  readonly topology: Topology;
  private readonly layout: TopicLayout;
  private readonly topics: DriverTopics;
  private readonly tasks: DriverTask[] = [];
  /** topic -> tasks reading it, by partition */
  private readonly taskOf = new Map<string, DriverTask[]>();
  /** Global tables: topic -> its store, updated as records are piped to the topic. */
  private readonly globals = new Map<string, GlobalKeyValueStore<unknown, unknown>>();
  private readonly internal: ReadonlySet<string>;
  private readonly collector: RecordCollector;
  private wallClock: number;
  private lastCommitAt: number;
  private running = false;
  private uncommitted = false;
  private failure: unknown = null;
  /** Topics the topology wrote (not changelogs). */
  private readonly produced = new Set<string>();
  private closed = false;

  constructor(
    readonly app: App,
    private readonly options: TopologyTestDriverOptions = {},
  ) {
    this.wallClock = options.initialTime ?? 0;
    this.lastCommitAt = this.wallClock;
    const given = options.topicPartitions ?? {};
    const countOf = (t: string) => given[t] ?? options.partitions ?? 1;
    this.topology = app.build(
      options.topicPartitions === undefined && options.partitions === undefined
        ? {}
        : { partitionsOf: countOf },
    );
    const partitions = new Map<string, number>();
    const topology = this.topology;
    for (const t of [
      ...topology.sourceTopics(),
      ...topology.globalTopics(),
      ...topology.sinkTopics(),
    ]) {
      partitions.set(t, countOf(t));
    }
    this.layout = resolveLayout(topology, partitions);
    this.internal = new Set(
      topology.internalTopics.filter((t) => t.purpose === "repartition").map((t) => t.name),
    );
    const changelogPartitions = new Map<string, number>();
    for (const sub of topology.subtopologies) {
      for (const s of sub.stores) {
        if (s.changelogTopic !== null) {
          changelogPartitions.set(s.changelogTopic, this.layout.tasksPerSubtopology.get(sub.id)!);
        }
      }
    }
    const consumed = new Set(topology.subtopologies.flatMap((s) => s.sourceTopics));
    this.topics = new DriverTopics(
      (t) =>
        this.layout.partitions.get(t) ??
        changelogPartitions.get(t) ??
        (t === app.config.deadLetterTopic ? 1 : countOf(t)),
      consumed,
      options.interleave ?? "as-piped",
      () => this.wallClock,
    );
    const restoreFrom = options.restoreFrom;
    if (restoreFrom !== undefined) {
      for (const t of changelogPartitions.keys()) this.topics.copyFrom(restoreFrom.topics, t);
    }
    this.collector = {
      send: (topic, record) => {
        this.produced.add(topic);
        this.append(topic, record);
      },
    };
    for (const g of topology.globalStores) {
      this.globals.set(g.topic, new GlobalKeyValueStore(g.storeName, g.keySerde, g.valueSerde));
    }
    for (const sub of topology.subtopologies) {
      const n = this.layout.tasksPerSubtopology.get(sub.id)!;
      for (let p = 0; p < n; p++) {
        const t = this.createTask(sub, p);
        this.tasks.push(t);
        for (const topic of sub.sourceTopics) {
          const list = this.taskOf.get(topic) ?? [];
          list[p] = t;
          this.taskOf.set(topic, list);
        }
      }
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

  /** A key-value store (over every partition's instance), or a global table's store. */
  getKeyValueStore<K = unknown, V = unknown>(name: string): ProcessorKeyValueStore<K, V> {
    const global = [...this.globals.values()].find((g) => g.name === name);
    if (global !== undefined) return global as unknown as ProcessorKeyValueStore<K, V>;
    return this.keyValueView(name) as unknown as ProcessorKeyValueStore<K, V>;
  }

  /** A window store (windowed aggregations, join buffers), read back with all()/fetch. */
  getWindowStore<K = unknown, V = unknown>(name: string): ReadableWindowStore<K, V> {
    const parts = this.instances(name);
    if (!parts.every((s) => s instanceof PersistentWindowStore)) {
      throw new StreamsArgumentError(`store '${name}' is not a window store`);
    }
    return new PartitionedWindowView(parts as unknown as ReadableWindowStore<K, V>[]);
  }

  getSessionStore<K = unknown, V = unknown>(name: string): ReadableSessionStore<K, V> {
    const parts = this.instances(name);
    if (!parts.every((s) => s instanceof PersistentSessionStore)) {
      throw new StreamsArgumentError(`store '${name}' is not a session store`);
    }
    return new PartitionedSessionView(parts as unknown as ReadableSessionStore<K, V>[]);
  }

  /**
   * Records dropped because their window had closed (windowed aggregations, joins), over
   * every task; with `store`, only those of the operation owning that store.
   */
  droppedRecords(store?: string): number {
    const stores =
      store !== undefined
        ? this.instances(store)
        : this.tasks.flatMap((t) => [...t.stores.values()]);
    let n = 0;
    for (const s of stores) n += droppedRecords(s);
    return n;
  }

  /** Every change to the named store, as it happens. */
  storeChanges$<K = unknown, V = unknown>(name: string): Observable<StoreChange<K, V>> {
    return storeChanges$(this.keyValueView(name) as unknown as ObservableKeyValueStore<K, V>);
  }

  /**
   * Moves the mock wall clock: fires wall-clock punctuations that are due, marks idle the
   * inputs that got nothing for `idleTimeoutMs` (their tasks' event time then moves on, as
   * on a worker), and commits when a commit interval passed.
   */
  advanceWallClockTime(ms: number): void {
    this.checkOpen();
    this.process();
    this.wallClock += ms;
    const now = this.wallClock;
    for (const t of this.tasks) {
      t.task.advanceWallClock(now);
      const et = t.task.eventTimeKeeper();
      if (et?.checkIdle(now, (topic) => this.topics.caughtUp(topic, t.task.partition))) {
        t.task.advanceEventTime();
      }
    }
    const interval = this.options.commitIntervalMs;
    if (interval === undefined || now - this.lastCommitAt >= interval) this.commit();
    this.process();
  }

  /**
   * Commits as a worker does: record caches forward what they hold, each task publishes
   * its watermark to the repartition topics it writes, stores append their changelogs.
   * Then processes what that produced.
   */
  commit(): void {
    this.checkOpen();
    this.process();
    this.commitNow();
    this.process();
  }

  /** Processes everything piped and produced so far (held under an interleave order). */
  process(): void {
    this.checkOpen();
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        const next = this.topics.next();
        if (next === undefined) {
          if (this.options.commitIntervalMs !== undefined || !this.uncommitted) break;
          this.commitNow();
          continue;
        }
        const t = this.taskOf.get(next.topic)![next.partition]!;
        t.lastRecordAt = this.wallClock;
        this.uncommitted = true;
        t.task.process(next.topic, next.partition, next.record);
      }
    } catch (e) {
      // as before a commit on a worker that stops: what the record produced is not
      // processed further
      this.topics.skipAll();
      throw e;
    } finally {
      this.running = false;
    }
    this.throwFailure();
  }

  /** Topics written so far (outputs, repartition topics, the dead-letter topic). */
  producedTopicNames(): string[] {
    return [...this.produced];
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.tasks) t.task.close();
  }

  /** @internal Appends an input record; processes it to completion unless held. */
  pipe(topic: string, record: ProducerRecord): void {
    this.checkOpen();
    if (!this.taskOf.has(topic) && !this.globals.has(topic)) {
      throw new UnknownStreamsTopicError(`the topology does not read topic '${topic}'`);
    }
    this.append(topic, record);
    if ((this.options.interleave ?? "as-piped") === "as-piped") this.process();
  }

  /** @internal */
  readOutput(topic: string): LogRecord | undefined {
    this.checkOpen();
    this.process();
    return this.topics.readOutput(topic);
  }

  /** @internal */
  outputSize(topic: string): number {
    this.process();
    return this.topics.outputSize(topic);
  }

  private append(topic: string, record: ProducerRecord): void {
    const { record: stored } = this.topics.append(topic, record);
    const global = this.globals.get(topic);
    // a global table's record updates its store at once (as a worker's updater does
    // before the next batch)
    if (global !== undefined && stored.key !== null && stored.key.length > 0) {
      global.apply(stored.key, stored.value);
    }
  }

  /** The commit of TaskManager.commit, synchronously (the memory engine's is). */
  private commitNow(): void {
    this.uncommitted = false;
    this.lastCommitAt = this.wallClock;
    for (const t of this.tasks) for (const s of t.stores.values()) s.flush();
    const now = this.wallClock;
    for (const t of this.tasks) {
      t.watermarks?.publish(this.collector, t.task.streamTime(), this.idle(t, now), now);
    }
    for (const t of this.tasks) {
      for (const s of t.stores.values()) {
        s.commit().catch((e: unknown) => {
          this.failure ??= e;
        });
      }
    }
  }

  /** Whether every input of a task is idle (as TaskManager.idle). */
  private idle(t: DriverTask, now: number): boolean {
    const et = t.task.eventTimeKeeper();
    if (et !== null) return et.allIdle();
    return t.sub.sourceTopics.every(
      (topic) =>
        now - t.lastRecordAt >= this.idleTimeoutOf(t.sub, topic) &&
        this.topics.caughtUp(topic, t.task.partition),
    );
  }

  private idleTimeoutOf(sub: SubTopology, topic: string): number {
    return (
      sub.sources.get(topic)?.idleTimeoutMs ??
      this.app.config.idleTimeoutMs ??
      DEFAULT_IDLE_TIMEOUT_MS
    );
  }

  private createTask(sub: SubTopology, partition: number): DriverTask {
    const stores = new Map<string, RuntimeStore>();
    for (const spec of sub.stores) {
      stores.set(spec.name, openDriverStore(spec, sub.taskId(partition), partition, this.topics));
    }
    const eventTime = eventTimeFor(
      this.topology,
      sub,
      this.internal,
      this.layout,
      { time: -1, now: this.wallClock },
      (topic) => this.idleTimeoutOf(sub, topic),
    );
    const task = new StreamTask({
      applicationId: this.app.applicationId,
      subtopology: sub,
      partition,
      collector: this.collector,
      openStore: (spec) => stores.get(spec.name)!,
      errorHandling: this.app.config.errorHandling,
      deadLetterTopic: this.app.config.deadLetterTopic,
      clock: () => this.wallClock,
      recordCacheBytes: this.options.cacheMaxBytes ?? 0,
      ...(eventTime === null ? {} : { eventTime, internalTopics: this.internal }),
      globalStores: new Map([...this.globals.values()].map((g) => [g.name, g])),
    });
    const watermarks = watermarkPublisherFor(sub, partition, this.internal, this.layout);
    return { task, sub, stores, watermarks, lastRecordAt: this.wallClock };
  }

  private keyValueView(name: string): PartitionedKeyValueView<unknown, unknown> {
    const parts = this.instances(name);
    if (
      parts.some((s) => s instanceof PersistentWindowStore || s instanceof PersistentSessionStore)
    ) {
      throw new StreamsArgumentError(`store '${name}' is not a key-value store`);
    }
    return new PartitionedKeyValueView(
      parts as unknown as ObservableKeyValueStore<unknown, unknown>[],
    );
  }

  /** Every partition's instance of a store. */
  private instances(name: string): RuntimeStore[] {
    this.checkOpen();
    this.process();
    const parts = this.tasks.flatMap((t) => {
      const s = t.stores.get(name);
      return s === undefined ? [] : [s];
    });
    if (parts.length === 0) {
      const names = new Set(this.tasks.flatMap((t) => [...t.stores.keys()]));
      throw new UnknownStoreError(name, [...names]);
    }
    return parts;
  }

  private throwFailure(): void {
    const e = this.failure;
    if (e === null) return;
    this.failure = null;
    throw e;
  }

  private checkOpen(): void {
    if (this.closed) throw new StreamsClosedError("the TopologyTestDriver");
  }
}
