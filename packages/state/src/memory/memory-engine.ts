import { StoreClosedError } from "../errors.js";
import {
  inRange,
  type KeyRange,
  type KeyValueChange,
  type KeyValueEngine,
  type KeyValueEntry,
  keyString,
} from "../key-value-bytes-store.js";

/**
 * The in-memory engine: a Map from key bytes (as a latin1 string) to value bytes. Reads
 * are answered synchronously, so prefetch is a no-op. Nothing survives a restart
 * (`persistent` is false): a store on it always restores its changelog from the start.
 * Range scans sort the keys on each call (fine for tests and small stores).
 */
export class MemoryEngine implements KeyValueEngine {
  readonly persistent = false;
  private readonly data = new Map<string, KeyValueEntry>();
  private offset: number | null = null;
  private closed = false;

  constructor(readonly name: string) {}

  get changelogOffset(): number | null {
    return this.offset;
  }

  get(key: Buffer): Buffer | null {
    this.checkOpen();
    return this.data.get(keyString(key))?.value ?? null;
  }

  async lookup(key: Buffer): Promise<Buffer | null> {
    return this.get(key);
  }

  async prefetch(): Promise<void> {
    this.checkOpen();
  }

  async write(changes: readonly KeyValueChange[], changelogOffset: number | null): Promise<void> {
    this.writeSync(changes, changelogOffset);
  }

  /** `write`, done before it returns (a restore that must not wait: the test driver). */
  writeSync(changes: readonly KeyValueChange[], changelogOffset: number | null): void {
    this.checkOpen();
    for (const c of changes) {
      // Copies: the caller's buffers may be views into a fetched batch or reused.
      if (c.value === null) this.data.delete(keyString(c.key));
      else
        this.data.set(keyString(c.key), { key: Buffer.from(c.key), value: Buffer.from(c.value) });
    }
    if (changelogOffset !== null) this.offset = changelogOffset;
  }

  async *range(range?: KeyRange): AsyncGenerator<KeyValueEntry> {
    yield* this.rangeSync(range);
  }

  rangeSync(range?: KeyRange): KeyValueEntry[] {
    this.checkOpen();
    const entries: KeyValueEntry[] = [];
    for (const e of this.data.values()) if (inRange(e.key, range)) entries.push(e);
    entries.sort((a, b) => Buffer.compare(a.key, b.key));
    return entries;
  }

  async dropRange(range: Required<KeyRange>): Promise<void> {
    this.dropRangeSync(range);
  }

  dropRangeSync(range: Required<KeyRange>): void {
    this.checkOpen();
    for (const [s, e] of this.data) if (inRange(e.key, range)) this.data.delete(s);
  }

  async approximateCount(): Promise<number> {
    this.checkOpen();
    return this.data.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.data.clear();
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError(this.name);
  }
}
