import type {
  ReadableSessionStore,
  ReadableWindowStore,
  SessionStoreEntry,
  WindowStoreEntry,
} from "./window-store.js";

/**
 * What the adapters use of @tributary/state's WindowStore and SessionStore (structural:
 * the state package's index does not export those classes yet).
 */
interface StateTimeStore {
  readonly name: string;
  readonly segments: {
    prefetch(keys: readonly Buffer[]): Promise<void>;
    flush(): void;
    expireBy(time: number): void;
  };
  commit(): Promise<void>;
  commitNeeded(): boolean;
  close(): Promise<void>;
}

export interface StateWindowStore<K, V> extends StateTimeStore {
  put(key: K, windowStart: number, value: V | null): boolean;
  fetch(key: K, windowStart: number): V | null;
  fetchRange(key: K, from: number, to: number): WindowStoreEntry<K, V>[];
  prefetch(keys: Iterable<K>): Promise<void>;
  allSync(): WindowStoreEntry<K, V>[];
}

export interface StateSessionStore<K, V> extends StateTimeStore {
  put(key: K, start: number, end: number, value: V): boolean;
  remove(key: K, start: number, end: number): void;
  findSessions(key: K, earliestEnd: number, latestStart: number): SessionStoreEntry<K, V>[];
  prefetch(keys: Iterable<K>): Promise<void>;
  allSync(): SessionStoreEntry<K, V>[];
}

/**
 * The processor-facing window and session stores over those of @tributary/state, with
 * the runtime's half beside them, as PersistentKeyValueStore does for key-value stores:
 * `prefetchBytes` (every live entry of the batch's keys, so reads are synchronous),
 * `flush`, `commit` (expired segments dropped, changelog append, one engine batch),
 * `commitNeeded`, `close` and `closed`.
 */
abstract class PersistentTimeStore {
  private closing: Promise<void> | null = null;

  abstract readonly state: StateTimeStore;

  get name(): string {
    return this.state.name;
  }

  prefetchBytes(keys: readonly Buffer[]): Promise<void> {
    return this.state.segments.prefetch(keys);
  }

  flush(): void {
    this.state.segments.flush();
  }

  /** Entries expire behind the task's event time from now on (see SegmentedBytesStore). */
  expireBy(time: number): void {
    this.state.segments.expireBy(time);
  }

  commit(): Promise<void> {
    return this.state.commit();
  }

  commitNeeded(): boolean {
    return this.state.commitNeeded();
  }

  approximateNumEntries(): number {
    return 0;
  }

  close(): void {
    this.closing ??= this.state.close();
  }

  closed(): Promise<void> {
    return this.closing ?? Promise.resolve();
  }
}

export class PersistentWindowStore<K, V>
  extends PersistentTimeStore
  implements ReadableWindowStore<K, V>
{
  constructor(readonly state: StateWindowStore<K, V>) {
    super();
  }

  put(key: K, windowStart: number, value: V | null): boolean {
    return this.state.put(key, windowStart, value);
  }

  fetch(key: K, windowStart: number): V | null {
    return this.state.fetch(key, windowStart);
  }

  fetchRange(key: K, from: number, to: number): WindowStoreEntry<K, V>[] {
    return this.state.fetchRange(key, from, to);
  }

  /** Every live window: on the memory engine only (the test driver reads it back). */
  all(): WindowStoreEntry<K, V>[] {
    return this.state.allSync();
  }

  prefetch(keys: Iterable<K>): Promise<void> {
    return this.state.prefetch(keys);
  }
}

export class PersistentSessionStore<K, V>
  extends PersistentTimeStore
  implements ReadableSessionStore<K, V>
{
  constructor(readonly state: StateSessionStore<K, V>) {
    super();
  }

  put(key: K, start: number, end: number, value: V): boolean {
    return this.state.put(key, start, end, value);
  }

  remove(key: K, start: number, end: number): void {
    this.state.remove(key, start, end);
  }

  findSessions(key: K, earliestEnd: number, latestStart: number): SessionStoreEntry<K, V>[] {
    return this.state.findSessions(key, earliestEnd, latestStart);
  }

  /** Every live session: on the memory engine only (the test driver reads it back). */
  all(): SessionStoreEntry<K, V>[] {
    return this.state.allSync();
  }

  prefetch(keys: Iterable<K>): Promise<void> {
    return this.state.prefetch(keys);
  }
}
