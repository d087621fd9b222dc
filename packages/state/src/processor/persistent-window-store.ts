import type { SessionEntry, SessionStore } from "../session/session-store.js";
import type { SegmentedStore } from "../window/segmented-store.js";
import type { WindowEntry, WindowStore } from "../window/window-store.js";
import type { ReadableSessionStore, ReadableWindowStore } from "./processor-stores.js";

/**
 * The processor-facing window and session stores over this package's WindowStore and
 * SessionStore, with the runtime's half beside them, as the streams runtime's
 * PersistentKeyValueStore does for key-value stores:
 * `prefetchBytes` (every live entry of the batch's keys, so reads are synchronous),
 * `flush`, `commit` (expired segments dropped, changelog append, one engine batch),
 * `commitNeeded`, `close` and `closed`.
 */
abstract class PersistentTimeStore<K> {
  private closing: Promise<void> | null = null;

  abstract readonly state: SegmentedStore<K>;

  get name(): string {
    return this.state.name;
  }

  prefetch(keys: Iterable<K>): Promise<void> {
    return this.state.prefetch(keys);
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
  extends PersistentTimeStore<K>
  implements ReadableWindowStore<K, V>
{
  constructor(readonly state: WindowStore<K, V>) {
    super();
  }

  put(key: K, windowStart: number, value: V | null): boolean {
    return this.state.put(key, windowStart, value);
  }

  fetch(key: K, windowStart: number): V | null {
    return this.state.fetch(key, windowStart);
  }

  fetchRange(key: K, from: number, to: number): WindowEntry<K, V>[] {
    return this.state.fetchRange(key, from, to);
  }

  /** Every live window: on the memory engine only (the test driver reads it back). */
  all(): WindowEntry<K, V>[] {
    return this.state.allSync();
  }
}

export class PersistentSessionStore<K, V>
  extends PersistentTimeStore<K>
  implements ReadableSessionStore<K, V>
{
  constructor(readonly state: SessionStore<K, V>) {
    super();
  }

  put(key: K, start: number, end: number, value: V): boolean {
    return this.state.put(key, start, end, value);
  }

  remove(key: K, start: number, end: number): void {
    this.state.remove(key, start, end);
  }

  findSessions(key: K, earliestEnd: number, latestStart: number): SessionEntry<K, V>[] {
    return this.state.findSessions(key, earliestEnd, latestStart);
  }

  /** Every live session: on the memory engine only (the test driver reads it back). */
  all(): SessionEntry<K, V>[] {
    return this.state.allSync();
  }
}
