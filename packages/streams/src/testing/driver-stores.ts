import {
  type KeyValueChange,
  memoryKeyValueStore,
  memorySessionStore,
  memoryWindowStore,
} from "@tributary/state";
import {
  processorStore,
  type RuntimeStore,
  retentionOf,
  type StateStoreOfSpec,
} from "../runtime/store-factory.js";
import type { StoreSpec } from "../topology/node-spec.js";
import type { DriverTopics } from "./driver-topics.js";

/** Write-back cache of each store (it does not change what a topology outputs). */
const WRITE_BACK_CACHE_BYTES = 1024 * 1024;

/**
 * A test driver task's store: the store of @tributary/state the spec asks for, on the
 * memory engine, restored from partition `partition` of its changelog in the driver's
 * topics (copied there from `restoreFrom`), logging back to it; wrapped as processors see
 * it on a worker (store-factory's processorStore).
 */
export function openDriverStore(
  spec: StoreSpec,
  taskId: string,
  partition: number,
  topics: DriverTopics,
): RuntimeStore {
  const topic = spec.changelogTopic;
  const records = topic === null ? [] : topics.records(topic, partition);
  const restored: KeyValueChange[] = records.map((r) => ({ key: r.key!, value: r.value }));
  const common = {
    name: spec.name,
    keySerde: spec.keySerde,
    valueSerde: spec.valueSerde,
    cacheBytes: spec.caching === false ? 0 : WRITE_BACK_CACHE_BYTES,
    changelog: topic === null ? null : topics.changelog(topic, partition),
    restore: { records: restored, nextOffset: records.length },
  };
  let state: StateStoreOfSpec;
  if (spec.type === "window") {
    state = memoryWindowStore({
      ...common,
      retentionMs: retentionOf(spec),
      retainDuplicates: spec.retainDuplicates ?? false,
    });
  } else if (spec.type === "session") {
    state = memorySessionStore({ ...common, retentionMs: retentionOf(spec) });
  } else state = memoryKeyValueStore(common);
  return processorStore(spec, state, taskId);
}
