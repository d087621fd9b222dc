import type { RestoreResult } from "../changelog-restorer.js";
import { StateStoreError } from "../errors.js";
import type { StoreSerde } from "../key-value-store.js";
import { openKeyValueStore } from "../store-builder.js";
import { SegmentedBytesStore } from "../window/segmented-bytes-store.js";
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
export class SessionStore<K, V> {
  constructor(
    readonly segments: SegmentedBytesStore,
    private readonly keySerde: StoreSerde<K>,
    private readonly valueSerde: StoreSerde<V | null>,
    private readonly extras: { restored: RestoreResult | null; close: () => Promise<void> },
  ) {}

  get name(): string {
    return this.segments.name;
  }

  get restored(): RestoreResult | null {
    return this.extras.restored;
  }

  get changelogOffset(): number | null {
    return this.segments.bytes.changelogOffset;
  }

  get observedTime(): number {
    return this.segments.observedTime;
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

  async prefetch(keys: Iterable<K>): Promise<void> {
    const bytes: Buffer[] = [];
    for (const k of keys) bytes.push(this.keyBytes(k));
    await this.segments.prefetch(bytes);
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

  commitNeeded(): boolean {
    return this.segments.commitNeeded();
  }

  commit(): Promise<void> {
    return this.segments.commit();
  }

  close(): Promise<void> {
    return this.extras.close();
  }

  private keyBytes(key: K): Buffer {
    const b = this.keySerde.serialize(key);
    if (b === null) {
      throw new StateStoreError(
        "INVALID_ARGUMENT",
        `store '${this.name}': a key serialized to null`,
      );
    }
    return b;
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

const rawSerde: StoreSerde<Buffer | null> = { serialize: (v) => v, deserialize: (b) => b };

/** Opens a session store: the key-value layers as openKeyValueStore builds them, restored. */
export async function openSessionStore<K, V>(
  options: SessionStoreOptions<K, V>,
): Promise<SessionStore<K, V>> {
  const { keySerde, valueSerde, retentionMs, segmentIntervalMs, ...rest } = options;
  const kv = await openKeyValueStore<Buffer | null, Buffer>({
    ...rest,
    keySerde: rawSerde,
    valueSerde: rawSerde,
  });
  const segments = new SegmentedBytesStore(kv.bytes, {
    retentionMs,
    ...(segmentIntervalMs === undefined ? {} : { segmentIntervalMs }),
  });
  try {
    await segments.init();
  } catch (e) {
    await kv.close().catch(() => {});
    throw e;
  }
  return new SessionStore<K, V>(segments, keySerde, valueSerde, {
    restored: kv.restored,
    close: () => kv.close(),
  });
}
