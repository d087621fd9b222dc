/**
 * A fixed-capacity ring of timestamped samples: the console keeps every series in one, so
 * memory stays bounded however long it runs (capacity × series, oldest dropped first).
 */
export class BoundedHistory<T> {
  private readonly items: { at: number; value: T }[] = [];

  constructor(readonly capacity: number) {}

  push(at: number, value: T): void {
    this.items.push({ at, value });
    if (this.items.length > this.capacity) this.items.shift();
  }

  all(): readonly { at: number; value: T }[] {
    return this.items;
  }

  last(): { at: number; value: T } | undefined {
    return this.items[this.items.length - 1];
  }

  /** The oldest sample at or after `since`, else the oldest held. */
  since(since: number): { at: number; value: T } | undefined {
    return this.items.find((s) => s.at >= since) ?? this.items[0];
  }
}
