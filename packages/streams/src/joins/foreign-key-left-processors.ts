import type { Change } from "../runtime/change.js";
import type { ProcessorKeyValueStore } from "@tributary/state";
import type { Processor, ProcessorContext } from "../runtime/processor.js";
import type { StreamRecord } from "../runtime/stream-record.js";
import type { Serde } from "../serdes.js";
import {
  Instruction,
  type Subscription,
  type SubscriptionResponse,
  sameHash,
  valueHash,
} from "./foreign-key-wrappers.js";
import type { ValueJoiner } from "./join-type.js";

/**
 * The left (primary-key) side of a foreign-key join (KIP-213), in the left table's
 * sub-topology: the sender turns each update of a left row into subscriptions to the
 * right side, the resolver turns the right side's responses into join results, and the
 * output keeps the result table.
 */

/** What both left processors need to know about the left table. */
export interface LeftSide<V> {
  leftJoin: boolean;
  /** The left value serde: the hash of a row is the hash of its bytes. */
  valueSerde: Serde<V>;
}

/**
 * Kafka's SubscriptionSendProcessorSupplier. For an update of a left row:
 * - it moved to another foreign key: unsubscribe from the old one (no answer);
 * - it has a foreign key: subscribe there with the new value's hash; an update answers
 *   null when the right row is missing (the old result must go), an insert only when there
 *   is one, unless a left join;
 * - it was deleted, or its foreign key became null: unsubscribe from the old key and
 *   have the (null) answer decide the result;
 * - it had no foreign key before either (the extractor gave null): the result is decided
 *   here, with no right value (none for an inner join, joined with null for a left one).
 */
export class SubscriptionSendProcessor<K, V, KO, VR>
  implements Processor<K, Change<V>, unknown, unknown>
{
  private ctx!: ProcessorContext<unknown, unknown>;

  constructor(
    private readonly side: LeftSide<V>,
    private readonly foreignKey: (value: V) => KO,
    private readonly joiner: ValueJoiner<V, unknown, VR>,
    private readonly leftKeySerde: Serde<K>,
    private readonly foreignKeySerde: Serde<KO>,
    private readonly sinkName: string,
    private readonly outputName: string,
  ) {}

  init(context: ProcessorContext<unknown, unknown>): void {
    this.ctx = context;
  }

  process(r: StreamRecord<K, Change<V>>): void {
    if (r.key === null || r.key === undefined) return;
    const { newValue, oldValue } = r.value;
    const newFk = newValue === null ? null : this.fkBytes(newValue);
    const oldFk = oldValue === null ? null : this.fkBytes(oldValue);
    const primaryKey = this.leftKeySerde.serialize(r.key) as Buffer;
    const hash = newValue === null ? null : valueHash(this.side.valueSerde.serialize(newValue));
    const send = (fk: Buffer, instruction: Instruction) => {
      const value: Subscription = { instruction, hash, primaryKey };
      this.ctx.forward({ ...r, key: fk, value }, this.sinkName);
    };
    if (oldFk !== null && (newFk === null || !oldFk.equals(newFk))) {
      // left for no foreign key (or deleted): the answer, null, decides the result
      send(
        oldFk,
        newFk === null ? Instruction.DELETE_KEY_AND_PROPAGATE : Instruction.DELETE_KEY_NO_PROPAGATE,
      );
      if (newFk === null) return;
    }
    if (newValue === null || newFk === null) {
      // no foreign key before or after (a delete retracts a left join's null-joined result)
      this.emit(r, newValue !== null && this.side.leftJoin ? newValue : null);
      return;
    }
    send(
      newFk,
      oldValue !== null || this.side.leftJoin
        ? Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE
        : Instruction.PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE,
    );
  }

  private fkBytes(value: V): Buffer | null {
    const fk = this.foreignKey(value);
    if (fk === null || fk === undefined) return null;
    return this.foreignKeySerde.serialize(fk);
  }

  /** A result decided without the right side: joined with null, or retracted (null). */
  private emit(r: StreamRecord<K, Change<V>>, value: V | null): void {
    const newValue = value === null ? null : this.joiner(value, null);
    this.ctx.forward({ ...r, value: { newValue, oldValue: null } }, this.outputName);
  }
}

/**
 * Kafka's ResponseJoinProcessorSupplier: a response for a left row is joined with the
 * row's current value — if the response was made for that value (same hash). A response
 * to an older version of the row is stale (a later subscription is on its way) and is
 * dropped, counted in `staleResponses`.
 */
export class ResponseResolverProcessor<K, V, VR>
  implements Processor<K, SubscriptionResponse, K, Change<VR>>
{
  private ctx!: ProcessorContext<K, Change<VR>>;
  private left!: ProcessorKeyValueStore<K, V>;
  staleResponses = 0;

  constructor(
    private readonly side: LeftSide<V>,
    private readonly leftStore: string,
    private readonly joiner: ValueJoiner<V, unknown, VR>,
  ) {}

  init(context: ProcessorContext<K, Change<VR>>): void {
    this.ctx = context;
    this.left = context.getStateStore<ProcessorKeyValueStore<K, V>>(this.leftStore);
  }

  process(r: StreamRecord<K, SubscriptionResponse>): void {
    if (r.key === null || r.key === undefined || r.value === null) return;
    const current = this.left.get(r.key) ?? null;
    const hash = current === null ? null : valueHash(this.side.valueSerde.serialize(current));
    if (!sameHash(hash, r.value.hash)) {
      this.staleResponses++;
      return;
    }
    const right = r.value.value;
    const newValue =
      current === null || (right === null && !this.side.leftJoin)
        ? null
        : this.joiner(current, right);
    this.ctx.forward({ ...r, value: { newValue, oldValue: null } });
  }
}

/** The join's result table: keeps each row's result and forwards it with the one before
 * (so aggregations downstream can retract); a retraction of nothing is not forwarded. */
export class ForeignKeyJoinOutputProcessor<K, VR> implements Processor<K, Change<VR>> {
  private ctx!: ProcessorContext<K, Change<VR>>;
  private store!: ProcessorKeyValueStore<K, VR>;

  constructor(private readonly storeName: string) {}

  init(context: ProcessorContext<K, Change<VR>>): void {
    this.ctx = context;
    this.store = context.getStateStore<ProcessorKeyValueStore<K, VR>>(this.storeName);
  }

  process(r: StreamRecord<K, Change<VR>>): void {
    if (r.key === null || r.key === undefined) return;
    const oldValue = this.store.get(r.key) ?? null;
    const newValue = r.value.newValue;
    if (newValue === null && oldValue === null) return;
    this.store.put(r.key, newValue);
    this.ctx.forward({ ...r, value: { newValue, oldValue } });
  }
}
