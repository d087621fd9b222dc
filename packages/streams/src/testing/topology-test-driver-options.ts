import type { InterleaveOrder } from "./driver-topics.js";
import type { TopologyTestDriver } from "./topology-test-driver.js";

/** How a TopologyTestDriver runs a topology: partitions, interleaving, caching, commits. */
export interface TopologyTestDriverOptions {
  /** The mock wall clock's start, and the default start time of input topics (ms). */
  initialTime?: number;
  /**
   * Partitions of every topic the app reads or writes (default 1). With more, the driver
   * runs one task per sub-topology and partition as workers do, routes records by the
   * producer's partitioner, and carries repartition topics between tasks with their
   * watermarks: a windowed topology then behaves as in a multi-partition run. Use the
   * count your topics have in production (4 is a good habit).
   */
  partitions?: number;
  /** Partition counts of particular topics (over `partitions`); joins' co-partitioning is
   * checked against them. */
  topicPartitions?: Readonly<Record<string, number>>;
  /**
   * The order in which tasks read what was piped (default "as-piped": each piped record is
   * processed to completion before pipeInput returns). "round-robin" and "by-partition"
   * hold piped records until the test reads something (an output, a store), advances the
   * clock or calls `process()`, then interleave the partitions as a real run can: one
   * record of each partition in turn, or each partition whole, lowest first.
   */
  interleave?: InterleaveOrder;
  /**
   * The record cache of aggregation stores (the worker's `cacheMaxBytes`): aggregates
   * forward at commit, latest per key, instead of on every update. Default 0.
   */
  cacheMaxBytes?: number;
  /**
   * Commits (cache flush, watermarks, changelog appends) as the wall clock passes each
   * interval, or on `commit()`. Default: after every piped record (Kafka's driver).
   */
  commitIntervalMs?: number;
  /**
   * Simulates a restart: the new driver's stores are restored from the changelogs the
   * given (closed or open) driver wrote, as a task on a new worker restores them; stream
   * time starts over.
   */
  restoreFrom?: TopologyTestDriver;
}
