import type { Change } from "../runtime/change.js";
import type { ProcessorKeyValueStore } from "@tributary/state";
import type { Processor, ProcessorContext } from "../runtime/processor.js";
import type { StreamRecord } from "../runtime/stream-record.js";
import type { JoinType, ValueJoiner } from "./join-type.js";

/**
 * One side of a table-table join (Kafka's KTableKTableJoin/LeftJoin/OuterJoin): an update
 * of this table's key is joined with the other table's current value for the key, and
 * forwarded as a change of the joined value (new and old, so aggregations downstream can
 * retract). A join value exists when both sides do (inner), the left one does (left), or
 * either does (outer). An update that leaves no joined value before or after is dropped.
 */
export class TableTableJoinProcessor<K, V1, V2, VR>
  implements Processor<K, Change<unknown>, K, Change<VR>>
{
  private ctx!: ProcessorContext<K, Change<VR>>;
  private other!: ProcessorKeyValueStore<K, unknown>;

  constructor(
    private readonly left: boolean,
    private readonly otherStore: string,
    private readonly type: JoinType,
    private readonly joiner: ValueJoiner<V1 | null, V2 | null, VR>,
  ) {}

  init(context: ProcessorContext<K, Change<VR>>): void {
    this.ctx = context;
    this.other = context.getStateStore<ProcessorKeyValueStore<K, unknown>>(this.otherStore);
  }

  process(r: StreamRecord<K, Change<unknown>>): void {
    if (r.key === null || r.key === undefined) return;
    const other = this.other.get(r.key) ?? null;
    const newValue = this.join(r.value.newValue, other);
    const oldValue = this.join(r.value.oldValue, other);
    if (newValue === null && oldValue === null) return;
    this.ctx.forward({
      key: r.key,
      value: { newValue, oldValue },
      timestamp: r.timestamp,
      headers: r.headers,
    });
  }

  private join(mine: unknown, other: unknown): VR | null {
    const l = (this.left ? mine : other) as V1 | null;
    const rt = (this.left ? other : mine) as V2 | null;
    if (this.type === "inner" && (l === null || rt === null)) return null;
    if (this.type === "left" && l === null) return null;
    if (l === null && rt === null) return null;
    return this.joiner(l, rt);
  }
}
