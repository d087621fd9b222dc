import type { StateStore } from "../runtime/key-value-store.js";

/**
 * The window and session store interfaces processors code against, synchronous like the
 * key-value one. @tributary/state's WindowStore and SessionStore satisfy them once the
 * runtime has awaited their `prefetch(keys)` for the batch (on the memory engine, which
 * the test driver uses, at once).
 */
export interface WindowStoreEntry<K, V> {
  key: K;
  /** Window start (a record's time in a join buffer). */
  start: number;
  value: V;
}

export interface WindowStore<K, V> extends StateStore {
  /** A null value deletes; with duplicates retained every put adds. False: expired. */
  put(key: K, windowStart: number, value: V | null): boolean;
  fetch(key: K, windowStart: number): V | null;
  /** The key's windows with from <= start <= to, by start, then put order. */
  fetchRange(key: K, from: number, to: number): WindowStoreEntry<K, V>[];
  prefetch(keys: Iterable<K>): Promise<void>;
}

export interface SessionStoreEntry<K, V> {
  key: K;
  start: number;
  end: number;
  value: V;
}

export interface SessionStore<K, V> extends StateStore {
  put(key: K, start: number, end: number, value: V): boolean;
  remove(key: K, start: number, end: number): void;
  /** Sessions ending at or after `earliestEnd` and starting at or before `latestStart`. */
  findSessions(key: K, earliestEnd: number, latestStart: number): SessionStoreEntry<K, V>[];
  prefetch(keys: Iterable<K>): Promise<void>;
}

/** What the test driver reads back: every live entry. */
export interface ReadableWindowStore<K, V> extends WindowStore<K, V> {
  all(): WindowStoreEntry<K, V>[];
}

export interface ReadableSessionStore<K, V> extends SessionStore<K, V> {
  all(): SessionStoreEntry<K, V>[];
}
