import type { ProducerRecord, Producer } from "@tributary/log";
import type { CommitBarrier, CommitTicket } from "./commit-barrier.js";
import { StateStoreError, StoreCommitFailedError } from "./errors.js";
import {
  inRange,
  type KeyRange,
  type KeyValueBytesStore,
  type KeyValueChange,
  type KeyValueEngine,
  type KeyValueEntry,
  keyString,
  lookupIn,
} from "./key-value-bytes-store.js";
import { mergeRange, mergeRangeSync, sortedOverlay } from "./merged-range.js";

/** Where a store's changes go: its compacted changelog topic, the task's partition. */
export interface ChangelogTarget {
  producer: Producer;
  topic: string;
  partition: number;
  /**
   * Appends the records before returning and gives the offset after the last: a changelog
   * in memory (the streams test driver's). With it and a synchronous engine (memory), a
   * commit is done when `commit()` returns, as a synchronous test needs.
   */
  appendSync?: (records: readonly ProducerRecord[]) => number;
  /**
   * Exactly-once: `producer` sends inside the worker's transaction, and the engine batch
   * of a commit waits at this barrier until that transaction commits (see CommitBarrier).
   */
  barrier?: CommitBarrier;
}

/** Bytes of keys and values per changelog send, below the default max.message.bytes (8 MiB). */
const MAX_SEND_BYTES = 4 * 1024 * 1024;
const RECORD_OVERHEAD_BYTES = 24;

/**
 * The change-logging layer. Changes flushed into it wait in a pending map (latest value
 * per key, readable at once); `commit` appends them to the changelog, waits until they
 * are durable, then writes them to the engine in ONE batch together with the changelog
 * offset they reach. So the engine never holds data the changelog lacks, and the offset
 * it stores always matches its data: restore after any crash replays only the tail.
 *
 * A key flushed several times between two commits reaches the changelog once, with its
 * latest value. Pending changes are also what a crash loses; the runtime has not
 * committed the input offsets that produced them, so they are processed again.
 *
 * If a commit fails half way the layer refuses further use (StoreCommitFailedError): the
 * store must be closed and reopened, which restores whatever reached the changelog.
 *
 * With a CommitBarrier (exactly-once) the append goes into the caller's transaction and
 * the engine batch is written only once the barrier is released (the transaction
 * committed); an abort fails the commit as above, and the engine keeps the last
 * committed batch and its offset, so reopening replays only the committed changelog tail.
 */
export class ChangeLoggingStore implements KeyValueBytesStore {
  private pending = new Map<string, KeyValueChange>();
  private inFlight: Map<string, KeyValueChange> | null = null;
  private pendingBytes = 0;
  /** Ranges to drop from the engine after the next commit's batch (`dropRange`). */
  private drops: Required<KeyRange>[] = [];
  private failure: unknown = null;
  private commitChain: Promise<void> = Promise.resolve();
  /** Commits started and not yet settled. */
  private committing = 0;

  constructor(
    private readonly engine: KeyValueEngine,
    private readonly changelog: ChangelogTarget | null,
    /** Pending bytes above which `commitNeeded()` says so. */
    private readonly commitThresholdBytes = 32 * 1024 * 1024,
  ) {}

  get name(): string {
    return this.engine.name;
  }

  get changelogOffset(): number | null {
    return this.engine.changelogOffset;
  }

  get(key: Buffer): Buffer | null {
    this.checkUsable();
    const s = keyString(key);
    const p = this.pending.get(s) ?? this.inFlight?.get(s);
    return p === undefined ? this.engine.get(key) : p.value;
  }

  put(key: Buffer, value: Buffer | null, keyStr?: string): void {
    this.checkUsable();
    this.pending.set(keyStr ?? keyString(key), { key, value });
    this.pendingBytes += key.length + (value === null ? 0 : value.length) + RECORD_OVERHEAD_BYTES;
  }

  async prefetch(keys: readonly Buffer[], known?: readonly KeyValueChange[]): Promise<void> {
    this.checkUsable();
    let wanted = keys;
    if (this.pending.size > 0 || this.inFlight !== null) {
      wanted = keys.filter((k) => {
        const s = keyString(k);
        return !this.pending.has(s) && !this.inFlight?.has(s);
      });
    }
    await this.engine.prefetch(wanted, known);
  }

  async lookup(key: Buffer): Promise<Buffer | null> {
    this.checkUsable();
    const s = keyString(key);
    const p = this.pending.get(s) ?? this.inFlight?.get(s);
    return p === undefined ? lookupIn(this.engine, key) : p.value;
  }

  range(range?: KeyRange): AsyncIterable<KeyValueEntry> {
    return mergeRange(this.engine.range(range), this.overlay(range));
  }

  get rangeSync(): ((range?: KeyRange) => Iterable<KeyValueEntry>) | undefined {
    const below = this.engine.rangeSync;
    if (below === undefined) return undefined;
    return (range) => mergeRangeSync(below.call(this.engine, range), this.overlay(range));
  }

  /** Pending and in-flight changes within `range`, sorted (pending wins). */
  private overlay(range: KeyRange | undefined): KeyValueChange[] {
    this.checkUsable();
    let changes: Iterable<KeyValueChange> = this.pending.values();
    if (this.inFlight !== null) {
      const merged = new Map(this.inFlight);
      for (const [s, c] of this.pending) merged.set(s, c);
      changes = merged.values();
    }
    return sortedOverlay(changes, (k) => inRange(k, range));
  }

  async approximateCount(): Promise<number> {
    return (await this.engine.approximateCount()) + this.pending.size;
  }

  dropRange(range: Required<KeyRange>): void {
    this.checkUsable();
    this.drops.push(range);
  }

  flush(): void {}

  commitNeeded(): boolean {
    return this.pendingBytes >= this.commitThresholdBytes;
  }

  commit(): Promise<void> {
    if (this.committing === 0 && this.commitsSync()) {
      try {
        this.checkUsable();
        if (this.pending.size > 0 || this.drops.length > 0) this.commitSync();
        return Promise.resolve();
      } catch (e) {
        return Promise.reject(e);
      }
    }
    // Commits run one after another so the engine sees batches in changelog order. With
    // none in flight one starts at once: its changelog append is sent before commit()
    // returns (a synchronous producer, the test driver's, has the records by then).
    const next =
      this.committing === 0
        ? this.commitPending()
        : this.commitChain.then(() => this.commitPending());
    this.committing++;
    const settled = next
      .catch(() => {})
      .then(() => {
        this.committing--;
      });
    this.commitChain = settled;
    return next;
  }

  async close(): Promise<void> {
    await this.commitChain;
    this.pending.clear();
    this.inFlight = null;
    await this.engine.close();
  }

  private async commitPending(): Promise<void> {
    this.checkUsable();
    const drops = this.drops;
    if (this.pending.size === 0) {
      if (drops.length === 0) return;
      this.drops = [];
      try {
        for (const r of drops) await this.engine.dropRange(r);
      } catch (e) {
        this.failure = e;
        throw new StoreCommitFailedError(this.name, e);
      }
      return;
    }
    this.drops = [];
    const batch = this.pending;
    this.pending = new Map();
    this.pendingBytes = 0;
    this.inFlight = batch;
    const changes = [...batch.values()];
    let ticket: CommitTicket | null = null;
    try {
      ticket = this.changelog?.barrier?.enter() ?? null;
      const offset = this.changelog === null ? null : await this.append(this.changelog, changes);
      if (ticket !== null) {
        ticket.appended();
        await ticket.released;
      }
      await this.engine.write(changes, offset);
      // after the batch, so changes of this commit within a dropped range go too
      for (const r of drops) await this.engine.dropRange(r);
    } catch (e) {
      ticket?.failed(e);
      this.failure = e;
      throw new StoreCommitFailedError(this.name, e);
    } finally {
      this.inFlight = null;
    }
  }

  /** The whole commit, synchronously (see commitsSync). */
  private commitSync(): void {
    const writeSync = this.engine.writeSync!;
    const appendSync = this.changelog === null ? null : this.changelog.appendSync!;
    const changes = [...this.pending.values()];
    this.pending = new Map();
    this.pendingBytes = 0;
    try {
      const partition = this.changelog?.partition ?? 0;
      const offset =
        appendSync === null
          ? null
          : appendSync(changes.map((c) => ({ key: c.key, value: c.value, partition })));
      writeSync.call(this.engine, changes, offset);
      const drops = this.drops;
      this.drops = [];
      for (const r of drops) this.engine.dropRangeSync!(r);
    } catch (e) {
      this.failure = e;
      throw new StoreCommitFailedError(this.name, e);
    }
  }

  /** Whether both the changelog and the engine commit synchronously (not RocksDB, not a
   * broker: the test driver's memory stores). */
  private commitsSync(): boolean {
    if (this.engine.writeSync === undefined || this.engine.dropRangeSync === undefined)
      return false;
    return this.changelog === null || this.changelog.appendSync !== undefined;
  }

  /** Appends the changes in sends of bounded size; returns the next offset after them. */
  private async append(
    target: ChangelogTarget,
    changes: readonly KeyValueChange[],
  ): Promise<number> {
    let next = -1;
    let records: ProducerRecord[] = [];
    let bytes = 0;
    const send = async () => {
      const results = await target.producer.send(target.topic, records);
      const r = results.find((x) => x.partition === target.partition);
      if (r === undefined) {
        throw new StateStoreError(
          "INTERNAL",
          `changelog ${target.topic} acknowledged no append to partition ${target.partition}`,
        );
      }
      next = r.lastOffset + 1;
      records = [];
      bytes = 0;
    };
    for (const c of changes) {
      records.push({ key: c.key, value: c.value, partition: target.partition });
      bytes += c.key.length + (c.value === null ? 0 : c.value.length) + RECORD_OVERHEAD_BYTES;
      if (bytes >= MAX_SEND_BYTES) await send();
    }
    if (records.length > 0) await send();
    return next;
  }

  private checkUsable(): void {
    if (this.failure !== null) throw new StoreCommitFailedError(this.name, this.failure);
  }
}
