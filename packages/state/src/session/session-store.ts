import { StateStoreError } from "../errors.js";
import type { StoreSerde } from "../key-value-store.js";
import type { SegmentedBytesStore } from "../window/segmented-bytes-store.js";
import {
  openSegmentedBytes,
  SegmentedStore,
  type SegmentedStoreExtras,
} from "../window/segmented-store.js";
import type { WindowStoreOptions } from "../window/window-store.js";

export interface SessionStoreOptions<K, V>
  extends Omit<WindowStoreOptions<K, V>, "retainDuplicates"> {}

/** One session of a key: [start, end], both inclusive (a lone record has start = end). */
export interface SessionEntry<K, V> {
  key: K;
  start: number;
  end: number;
  value: V;
}

/**
 * A session store (Kafka's SessionStore): one aggregate per key and session [start, end],
 * on the segmented layout with time = the session's END (so retention, inactivity gap +
 * grace, counts from when a session last saw a record) and tail = its start. Sessions
 * merge in the processor: it removes the old sessions and puts the merged one.
 *
 * Reads are synchronous after `prefetch(keys)` (every live session of those keys).
 */
export class SessionStore<K, V> extends SegmentedStore<K> {
  constructor(
    segments: SegmentedBytesStore,
    keySerde: StoreSerde<K>,
    private readonly valueSerde: StoreSerde<V | null>,
    extras: SegmentedStoreExtras,
  ) {
    super(segments, keySerde, extras);
  }

  /** Stores the session's aggregate; false if the session has expired. */
  put(key: K, start: number, end: number, value: V): boolean {
    return this.segments.put(
      this.keyBytes(key),
      end,
      startTail(start, end),
      this.valueSerde.serialize(value),
    );
  }

  remove(key: K, start: number, end: number): void {
    this.segments.put(this.keyBytes(key), end, startTail(start, end), null);
  }

  /**
   * Sessions of a prefetched key that end at or after `earliestEnd` and start at or
   * before `latestStart` (Kafka's findSessions): the ones a record at t with gap g merges
   * with are findSessions(key, t - g, t + g). Ordered by end.
   */
  findSessions(key: K, earliestEnd: number, latestStart: number): SessionEntry<K, V>[] {
    const out: SessionEntry<K, V>[] = [];
    for (const e of this.segments.fetch(this.keyBytes(key), earliestEnd, Number.MAX_SAFE_INTEGER)) {
      const start = Number(e.tail.readBigInt64BE(0));
      if (start > latestStart) continue;
      out.push({ key, start, end: e.time, value: this.valueSerde.deserialize(e.value) as V });
    }
    return out;
  }

  fetchSession(key: K, start: number, end: number): V | null {
    for (const s of this.findSessions(key, end, start)) {
      if (s.start === start && s.end === end) return s.value;
    }
    return null;
  }

  /** `all`, synchronously: only on the memory engine (the test driver reads it back). */
  allSync(from = 0, to = Number.MAX_SAFE_INTEGER): SessionEntry<K, V>[] {
    return this.segments.allSync(from, to).map((e) => ({
      key: this.keySerde.deserialize(e.key),
      start: Number(e.tail.readBigInt64BE(0)),
      end: e.time,
      value: this.valueSerde.deserialize(e.value) as V,
    }));
  }

  /** Every live session ending within [from, to] (all keys; async scan). */
  async *all(from = 0, to = Number.MAX_SAFE_INTEGER): AsyncGenerator<SessionEntry<K, V>> {
    for await (const e of this.segments.all(from, to)) {
      yield {
        key: this.keySerde.deserialize(e.key),
        start: Number(e.tail.readBigInt64BE(0)),
        end: e.time,
        value: this.valueSerde.deserialize(e.value) as V,
      };
    }
  }
}

function startTail(start: number, end: number): Buffer {
  if (!(Number.isInteger(start) && start >= 0 && start <= end)) {
    throw new StateStoreError(
      "INVALID_ARGUMENT",
      `a session needs whole ms 0 <= start <= end, got [${start}, ${end}]`,
    );
  }
  const b = Buffer.allocUnsafe(8);
  b.writeBigInt64BE(BigInt(start));
  return b;
}

/** Opens a session store over the layers openSegmentedBytes builds and restores. */
export async function openSessionStore<K, V>(
  options: SessionStoreOptions<K, V>,
): Promise<SessionStore<K, V>> {
  const { keySerde, valueSerde, ...rest } = options;
  const { segments, extras } = await openSegmentedBytes(rest);
  return new SessionStore<K, V>(segments, keySerde, valueSerde, extras);
}
