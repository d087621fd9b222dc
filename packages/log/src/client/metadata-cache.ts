import type { LogService } from "./log-service.js";

/**
 * Partition counts per topic, cached by the client: a producer asks for every send. An
 * entry is dropped when the log says the topic or partition is unknown (deleted and
 * recreated with another count).
 */
export class MetadataCache {
  private readonly counts = new Map<string, number>();

  constructor(private readonly service: LogService) {}

  async partitionCount(topic: string): Promise<number> {
    const cached = this.counts.get(topic);
    if (cached !== undefined) return cached;
    const n = await this.service.partitionCount(topic);
    this.counts.set(topic, n);
    return n;
  }

  invalidate(topic: string): void {
    this.counts.delete(topic);
  }
}
