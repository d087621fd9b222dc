import type { Processor, ProcessorContext } from "../runtime/processor.js";
import type { ProcessorKeyValueStore } from "@tributary/state";
import type { StreamRecord } from "../runtime/stream-record.js";
import type { ValueJoiner } from "./join-type.js";

/**
 * A stream-table join (Kafka's KStreamKTableJoin): each stream record looks its key up in
 * the table's store as it is when the record is processed; only stream records trigger
 * output. Inner: unmatched records are dropped; left: joined with null. A null key never
 * matches (inner drops it, left emits it with null). Not windowed, so nothing is late.
 */
export class StreamTableJoinProcessor<K, V, VT, VR> implements Processor<K, V, K, VR> {
  private ctx!: ProcessorContext<K, VR>;
  private table!: ProcessorKeyValueStore<K, VT>;

  constructor(
    private readonly tableStore: string,
    private readonly left: boolean,
    private readonly joiner: ValueJoiner<V, VT | null, VR>,
  ) {}

  init(context: ProcessorContext<K, VR>): void {
    this.ctx = context;
    this.table = context.getStateStore<ProcessorKeyValueStore<K, VT>>(this.tableStore);
  }

  process(r: StreamRecord<K, V>): void {
    if (r.value === null || r.value === undefined) return;
    const found = r.key === null || r.key === undefined ? undefined : this.table.get(r.key);
    forwardJoined(this.ctx, r, found, this.left, this.joiner);
  }
}

/** A stream record joined with what its table lookup `found` (undefined: nothing): dropped
 * by an inner join, joined with null by a left one; the result keeps the record's key. */
export function forwardJoined<K, V, VT, VR>(
  ctx: ProcessorContext<K, VR>,
  r: StreamRecord<K, V>,
  found: VT | undefined,
  left: boolean,
  joiner: ValueJoiner<V, VT | null, VR>,
): void {
  if (found === undefined && !left) return;
  ctx.forward({
    key: r.key,
    value: joiner(r.value, found ?? null),
    timestamp: r.timestamp,
    headers: r.headers,
  });
}
