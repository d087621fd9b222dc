import type { Change } from "../runtime/change.js";
import type { ProcessorKeyValueStore } from "@tributary/state";
import type { Processor, ProcessorContext } from "../runtime/processor.js";
import type { StreamRecord } from "../runtime/stream-record.js";
import {
  Instruction,
  type Subscriber,
  type Subscription,
  type SubscriptionResponse,
} from "./foreign-key-wrappers.js";

/**
 * The right (foreign-key) side of a foreign-key join (KIP-213), in the right table's
 * sub-topology. The subscription store holds, per foreign key, the left rows subscribed to
 * it (their key bytes and value hash). Responses are keyed by the left row's key bytes
 * (the response sink writes them as they are, so they land on the left row's partition).
 */

/**
 * Kafka's SubscriptionJoinProcessorSupplier: records or removes a subscription, then
 * answers it with the right row's current value as its instruction says.
 */
export class SubscriptionReceiveProcessor<KO, VO>
  implements Processor<KO, Subscription, Buffer, SubscriptionResponse>
{
  private ctx!: ProcessorContext<Buffer, SubscriptionResponse>;
  private subscriptions!: ProcessorKeyValueStore<KO, Subscriber[]>;
  private right!: ProcessorKeyValueStore<KO, VO>;

  constructor(
    private readonly subscriptionStore: string,
    private readonly rightStore: string,
  ) {}

  init(context: ProcessorContext<Buffer, SubscriptionResponse>): void {
    this.ctx = context;
    this.subscriptions = context.getStateStore(this.subscriptionStore);
    this.right = context.getStateStore(this.rightStore);
  }

  process(r: StreamRecord<KO, Subscription>): void {
    if (r.key === null || r.key === undefined || r.value === null) return;
    const { instruction, hash, primaryKey } = r.value;
    const others = (this.subscriptions.get(r.key) ?? []).filter(
      (s) => !s.primaryKey.equals(primaryKey),
    );
    const unsubscribe =
      instruction === Instruction.DELETE_KEY_AND_PROPAGATE ||
      instruction === Instruction.DELETE_KEY_NO_PROPAGATE;
    if (!unsubscribe) others.push({ primaryKey, hash });
    if (others.length === 0) this.subscriptions.delete(r.key);
    else this.subscriptions.put(r.key, others);
    if (instruction === Instruction.DELETE_KEY_NO_PROPAGATE) return;
    const value =
      instruction === Instruction.DELETE_KEY_AND_PROPAGATE ? null : (this.right.get(r.key) ?? null);
    if (value === null && instruction === Instruction.PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE) return;
    this.ctx.forward({ ...r, key: primaryKey, value: { hash, value } });
  }
}

/**
 * Kafka's foreign-table side of the join: an update or delete of a right row answers
 * every left row subscribed to its key, with the new value (null when deleted), each with
 * the hash it subscribed with.
 */
export class ForeignTableChangeProcessor<KO, VO>
  implements Processor<KO, Change<VO>, Buffer, SubscriptionResponse>
{
  private ctx!: ProcessorContext<Buffer, SubscriptionResponse>;
  private subscriptions!: ProcessorKeyValueStore<KO, Subscriber[]>;

  constructor(private readonly subscriptionStore: string) {}

  init(context: ProcessorContext<Buffer, SubscriptionResponse>): void {
    this.ctx = context;
    this.subscriptions = context.getStateStore(this.subscriptionStore);
  }

  process(r: StreamRecord<KO, Change<VO>>): void {
    if (r.key === null || r.key === undefined) return;
    const subscribers = this.subscriptions.get(r.key);
    if (subscribers === undefined) return;
    const value = r.value.newValue;
    for (const s of subscribers) {
      this.ctx.forward({ ...r, key: s.primaryKey, value: { hash: s.hash, value } });
    }
  }
}
