/**
 * A partition's high watermark, the offset readers see below, and the listeners told
 * (synchronously) each time it advances; it never goes back.
 */
export class HighWatermark {
  private readonly listeners = new Set<() => void>();

  constructor(private offset: number) {}

  get value(): number {
    return this.offset;
  }

  /** The listener runs synchronously whenever the high watermark advances. */
  onAdvance(listener: () => void): () => void {
    const wrapped = () => listener();
    this.listeners.add(wrapped);
    return () => {
      this.listeners.delete(wrapped);
    };
  }

  advance(offset: number): void {
    if (offset <= this.offset) return;
    this.offset = offset;
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        // A listener's bug must not fail an append that is already written: report it
        // where it belongs, outside the log.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
