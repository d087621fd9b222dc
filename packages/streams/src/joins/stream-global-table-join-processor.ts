import type { Processor, ProcessorContext } from "../runtime/processor.js";
import type { ReadOnlyKeyValueStore, StateStore } from "@tributary/state";
import type { StreamRecord } from "../runtime/stream-record.js";
import type { ValueJoiner } from "./join-type.js";
import { forwardJoined } from "./stream-table-join-processor.js";

/**
 * A stream-global-table join (Kafka's KStreamGlobalKTableJoin): each stream record's
 * table key comes from `keySelector`; the global store is read as it is when the record is
 * processed, so an update of the table is seen by later records only. Inner: a record
 * whose table key is null or absent is dropped; left: joined with null. The result keeps
 * the stream record's key.
 */
export class StreamGlobalTableJoinProcessor<K, V, GK, GV, VR> implements Processor<K, V, K, VR> {
  private ctx!: ProcessorContext<K, VR>;
  private table!: ReadOnlyKeyValueStore<GK, GV>;

  constructor(
    private readonly globalStore: string,
    private readonly left: boolean,
    private readonly keySelector: (key: K, value: V) => GK,
    private readonly joiner: ValueJoiner<V, GV | null, VR>,
  ) {}

  init(context: ProcessorContext<K, VR>): void {
    this.ctx = context;
    this.table = context.getStateStore<StateStore & ReadOnlyKeyValueStore<GK, GV>>(
      this.globalStore,
    );
  }

  process(r: StreamRecord<K, V>): void {
    if (r.value === null || r.value === undefined) return;
    const tableKey = this.keySelector(r.key, r.value);
    const found =
      tableKey === null || tableKey === undefined ? undefined : this.table.get(tableKey);
    forwardJoined(this.ctx, r, found, this.left, this.joiner);
  }
}
