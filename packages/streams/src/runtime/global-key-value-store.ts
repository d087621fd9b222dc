import { StreamsArgumentError } from "../errors.js";
import type { ReadOnlyKeyValueStore, StateStore } from "@tributary/state";
import type { Serde } from "../serdes.js";

interface Entry {
  key: Buffer;
  value: Buffer;
  /** Decoded on first read. */
  decoded?: unknown;
}

/**
 * What processors see of a global table (globalTable()): a read-only key-value store over
 * every partition of its topic. It is held whole in memory for synchronous reads at any key
 * a join selects (the batch prefetch only knows the keys of the task's input); the
 * GlobalStoreUpdater keeps it, and its RocksDB copy, current. Entries keep the topic's
 * bytes; a value is decoded once, when first read. Writes come only from the topic:
 * `put` and `delete` throw, as Kafka's global stores refuse them.
 */
export class GlobalKeyValueStore<K, V> implements StateStore, ReadOnlyKeyValueStore<K, V> {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
  ) {}

  get(key: K): V | undefined {
    const bytes = this.keySerde.serialize(key);
    if (bytes === null) return undefined;
    const e = this.entries.get(bytes.toString("latin1"));
    if (e === undefined) return undefined;
    if (!("decoded" in e)) e.decoded = this.valueSerde.deserialize(e.value);
    return e.decoded as V;
  }

  *all(): IterableIterator<[K, V]> {
    const sorted = [...this.entries.values()].sort((a, b) => Buffer.compare(a.key, b.key));
    for (const e of sorted) {
      if (!("decoded" in e)) e.decoded = this.valueSerde.deserialize(e.value);
      yield [this.keySerde.deserialize(e.key), e.decoded as V];
    }
  }

  approximateNumEntries(): number {
    return this.entries.size;
  }

  put(): void {
    throw new StreamsArgumentError(
      `global store '${this.name}' is read-only: it changes only with its topic; produce to the topic instead`,
    );
  }

  delete(): never {
    return this.put() as never;
  }

  /** The global store belongs to the worker, not to the task that closes its view. */
  close(): void {}

  /** @internal The updater's side: a change read from the topic (null value deletes).
   * Copies the bytes: a fetched record's buffers may share the batch's memory. */
  apply(key: Buffer, value: Buffer | null): void {
    const id = key.toString("latin1");
    if (value === null) this.entries.delete(id);
    else this.entries.set(id, { key: Buffer.from(key), value: Buffer.from(value) });
  }

  /** @internal Empties it (the local copy was ahead of the topic, which was recreated). */
  clear(): void {
    this.entries.clear();
  }
}
