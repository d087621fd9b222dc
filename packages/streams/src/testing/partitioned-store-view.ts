import { StreamsArgumentError } from "../errors.js";
import type {
  ObservableKeyValueStore,
  ProcessorKeyValueStore,
  ReadableSessionStore,
  ReadableWindowStore,
  SessionEntry,
  StoreChangeListener,
  WindowEntry,
} from "@tributary/state";

/**
 * One store name across the test driver's tasks: each partition's task has its own
 * instance of a store, as on workers, and a test reads them as one. A key lives in the
 * instance of the partition its records went to, so reads ask each in turn; scans
 * concatenate them in partition order. Writes from a test go to the instance holding the
 * key, else to partition 0's.
 */
export class PartitionedKeyValueView<K, V> implements ObservableKeyValueStore<K, V> {
  constructor(private readonly parts: readonly ObservableKeyValueStore<K, V>[]) {}

  get name(): string {
    return this.parts[0]!.name;
  }

  get(key: K): V | undefined {
    for (const s of this.parts) {
      const v = s.get(key);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  *all(): IterableIterator<[K, V]> {
    for (const s of this.parts) yield* s.all();
  }

  approximateNumEntries(): number {
    let n = 0;
    for (const s of this.parts) n += s.approximateNumEntries();
    return n;
  }

  put(key: K, value: V | null): void {
    this.holder(key).put(key, value);
  }

  delete(key: K): V | undefined {
    return this.holder(key).delete(key);
  }

  prefetch(): Promise<void> {
    return Promise.resolve();
  }

  addChangeListener(listener: StoreChangeListener<K, V>): () => void {
    if (!this.parts.every((s) => typeof s.addChangeListener === "function")) {
      throw new StreamsArgumentError(
        `store '${this.name}' reports no changes (a suppression buffer or join's pending records)`,
      );
    }
    const removers = this.parts.map((s) => s.addChangeListener(listener));
    return () => {
      for (const r of removers) r();
    };
  }

  close(): void {}

  private holder(key: K): ProcessorKeyValueStore<K, V> {
    return this.parts.find((s) => s.get(key) !== undefined) ?? this.parts[0]!;
  }
}

/** PartitionedKeyValueView for window stores. */
export class PartitionedWindowView<K, V> implements ReadableWindowStore<K, V> {
  constructor(private readonly parts: readonly ReadableWindowStore<K, V>[]) {}

  get name(): string {
    return this.parts[0]!.name;
  }

  put(key: K, windowStart: number, value: V | null): boolean {
    const holder = this.parts.find((s) => s.fetchRange(key, 0, Number.MAX_SAFE_INTEGER).length);
    return (holder ?? this.parts[0]!).put(key, windowStart, value);
  }

  fetch(key: K, windowStart: number): V | null {
    for (const s of this.parts) {
      const v = s.fetch(key, windowStart);
      if (v !== null) return v;
    }
    return null;
  }

  fetchRange(key: K, from: number, to: number): WindowEntry<K, V>[] {
    return this.parts.flatMap((s) => s.fetchRange(key, from, to));
  }

  all(): WindowEntry<K, V>[] {
    return this.parts.flatMap((s) => s.all());
  }

  prefetch(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {}
}

/** PartitionedKeyValueView for session stores. */
export class PartitionedSessionView<K, V> implements ReadableSessionStore<K, V> {
  constructor(private readonly parts: readonly ReadableSessionStore<K, V>[]) {}

  get name(): string {
    return this.parts[0]!.name;
  }

  put(key: K, start: number, end: number, value: V): boolean {
    const holder = this.parts.find((s) => s.findSessions(key, 0, Number.MAX_SAFE_INTEGER).length);
    return (holder ?? this.parts[0]!).put(key, start, end, value);
  }

  remove(key: K, start: number, end: number): void {
    for (const s of this.parts) s.remove(key, start, end);
  }

  findSessions(key: K, earliestEnd: number, latestStart: number): SessionEntry<K, V>[] {
    return this.parts.flatMap((s) => s.findSessions(key, earliestEnd, latestStart));
  }

  all(): SessionEntry<K, V>[] {
    return this.parts.flatMap((s) => s.all());
  }

  prefetch(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {}
}
