import type { RestoreResult } from "../changelog-restorer.js";
import { StateStoreError } from "../errors.js";
import type { StoreSerde } from "../key-value-store.js";
import { openKeyValueStore, type KeyValueStoreOptions } from "../store-builder.js";
import type { ResidentMemo } from "./resident-entries.js";
import { SegmentedBytesStore } from "./segmented-bytes-store.js";
import { windowedChangelogConfig } from "./windowed-changelog-config.js";

/** What a segmented store holds besides its segments: the restore result and its closer. */
export interface SegmentedStoreExtras {
  restored: RestoreResult | null;
  close: () => Promise<void>;
}

/**
 * What the window store and the session store share: a typed store over one
 * SegmentedBytesStore, with the key serde, prefetching, commit and close. The subclasses
 * own the value serde and what goes into an entry's time and tail.
 */
/** A key's bytes, their latin1 string (the resident entries' map key), and a memo of
 * its resident entries. */
export interface KeyRef extends ResidentMemo {
  bytes: Buffer;
  str: string;
}

/** String keys remembered with their bytes, per store; past it the memo starts over. */
const STRING_KEY_MEMO = 65_536;

export abstract class SegmentedStore<K> {
  private lastKey: K | undefined;
  private lastKeyBytes: Buffer | null = null;
  /** string key -> its bytes and map key: a hot key is encoded once, not per read. */
  private stringKeys = new Map<string, KeyRef>();
  private lastRefKey: K | undefined;
  private lastRef: KeyRef | null = null;

  constructor(
    readonly segments: SegmentedBytesStore,
    protected readonly keySerde: StoreSerde<K>,
    private readonly extras: SegmentedStoreExtras,
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

  /** Loads every live entry of these keys, so reads of them are synchronous. */
  async prefetch(keys: Iterable<K>): Promise<void> {
    const bytes: Buffer[] = [];
    for (const k of keys) bytes.push(this.keyBytes(k));
    await this.segments.prefetch(bytes);
  }

  commitNeeded(): boolean {
    return this.segments.commitNeeded();
  }

  /** Drops expired segments, then commits (changelog append, one engine batch). */
  commit(): Promise<void> {
    return this.segments.commit();
  }

  close(): Promise<void> {
    return this.extras.close();
  }

  /** The key's bytes and map key; memoized for string keys (the common case). */
  protected keyRef(key: K): KeyRef {
    // a read-then-write of one key: the second call skips the Map
    if (key === this.lastRefKey && this.lastRef !== null) return this.lastRef;
    if (typeof key !== "string") {
      const bytes = this.keyBytes(key);
      return { bytes, str: bytes.toString("latin1"), entries: undefined, generation: -1 };
    }
    let k = this.stringKeys.get(key);
    if (k === undefined) {
      const bytes = this.keyBytes(key);
      k = { bytes, str: bytes.toString("latin1"), entries: undefined, generation: -1 };
      if (this.stringKeys.size >= STRING_KEY_MEMO) this.stringKeys = new Map();
      this.stringKeys.set(key, k);
    }
    this.lastRefKey = key;
    this.lastRef = k;
    return k;
  }

  protected keyBytes(key: K): Buffer {
    // a read-modify-write of one key (a windowed aggregate, a join) serializes it once
    if (key === this.lastKey && this.lastKeyBytes !== null) return this.lastKeyBytes;
    const b = this.keySerde.serialize(key);
    if (b === null) {
      throw new StateStoreError(
        "INVALID_ARGUMENT",
        `store '${this.name}': a key serialized to null`,
      );
    }
    // only immutable keys are remembered: an object key could change in place
    if (typeof key !== "object" || key === null) {
      this.lastKey = key;
      this.lastKeyBytes = b;
    }
    return b;
  }
}

export interface SegmentedBytesOptions
  extends Omit<KeyValueStoreOptions<Buffer | null, Buffer>, "keySerde" | "valueSerde"> {
  /** Window size plus grace: windows that closed this long ago are dropped. */
  retentionMs: number;
  segmentIntervalMs?: number;
}

const rawSerde: StoreSerde<Buffer | null> = { serialize: (v) => v, deserialize: (b) => b };

/**
 * Opens the bytes under a window or session store: the key-value layers exactly as
 * openKeyValueStore builds them (engine, restore of the changelog tail, change-logging,
 * cache), the segmented layout on top, and the observed time recovered from the data.
 */
export async function openSegmentedBytes(
  options: SegmentedBytesOptions,
): Promise<{ segments: SegmentedBytesStore; extras: SegmentedStoreExtras }> {
  const { retentionMs, segmentIntervalMs, ...rest } = options;
  // No write-back cache below: reads are served by the resident entries above, and the
  // change-logging layer already keeps one latest value per key until the commit, so a
  // cache there would only copy every put (a join buffer's puts are all new keys).
  const kv = await openKeyValueStore<Buffer | null, Buffer>({
    ...rest,
    // expired segments leave no tombstones: the changelog forgets them by time
    ...(rest.changelog === undefined
      ? {}
      : { changelog: { topicConfig: windowedChangelogConfig(retentionMs), ...rest.changelog } }),
    cacheBytes: 0,
    keySerde: rawSerde,
    valueSerde: rawSerde,
  });
  const segments = new SegmentedBytesStore(kv.bytes, {
    retentionMs,
    ...(segmentIntervalMs === undefined ? {} : { segmentIntervalMs }),
    // the entries read lately stay in memory within the store's cache budget
    ...(rest.cacheBytes === undefined ? {} : { residentBytes: rest.cacheBytes }),
  });
  try {
    await segments.init();
  } catch (e) {
    await kv.close().catch(() => {});
    throw e;
  }
  return { segments, extras: { restored: kv.restored, close: () => kv.close() } };
}
