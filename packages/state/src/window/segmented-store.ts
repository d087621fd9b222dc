import type { RestoreResult } from "../changelog-restorer.js";
import { StateStoreError } from "../errors.js";
import type { StoreSerde } from "../key-value-store.js";
import { openKeyValueStore, type KeyValueStoreOptions } from "../store-builder.js";
import { SegmentedBytesStore } from "./segmented-bytes-store.js";

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
export abstract class SegmentedStore<K> {
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

  protected keyBytes(key: K): Buffer {
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
  const kv = await openKeyValueStore<Buffer | null, Buffer>({
    ...rest,
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
