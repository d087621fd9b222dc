import type { TopicPartition } from "@tributary/log";
import type { BatchPrefetcher } from "./batch-prefetcher.js";
import type { PartitionGroup } from "./partition-group.js";
import type { RuntimeStore } from "./store-factory.js";
import type { StreamTask } from "./stream-task.js";
import type { WatermarkPublisher } from "./watermark-publisher.js";

/** A task as the worker runs it: the StreamTask plus what the runtime keeps beside it. */
export interface RunningTask {
  readonly id: string;
  readonly task: StreamTask;
  readonly stores: RuntimeStore[];
  readonly prefetcher: BatchPrefetcher;
  /** Source partitions seen since the last commit: their positions are committed next. */
  readonly progressed: Map<string, TopicPartition>;
  /** Its input partitions' queues when it reads several (null: one, batches run as
   * fetched). */
  readonly group: PartitionGroup | null;
  /** Publishes its watermark to the internal topics it writes (null: it writes none). */
  readonly watermarks: WatermarkPublisher | null;
  /** Wall clock of its last processed record, for idleness. */
  lastRecordAt: number;
  /** Input records it processed (for per-task metrics). */
  processed: number;
}
