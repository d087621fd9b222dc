import { Serdes } from "@tributary/log";
import {
  ForeignKeyJoinOutputProcessor,
  type LeftSide,
  ResponseResolverProcessor,
  SubscriptionSendProcessor,
} from "../joins/foreign-key-left-processors.js";
import {
  ForeignTableChangeProcessor,
  SubscriptionReceiveProcessor,
} from "../joins/foreign-key-right-processors.js";
import {
  responseSerde,
  subscribersSerde,
  subscriptionSerde,
} from "../joins/foreign-key-wrappers.js";
import type { ValueJoiner } from "../joins/join-type.js";
import type { Serde } from "../serdes.js";
import type { TopologyBuilder } from "../topology/topology-builder.js";
import { GraphNode, type StoreDraft, storeSpec } from "./graph-node.js";

export interface ForeignKeyJoinSpec {
  leftJoin: boolean;
  foreignKey: (value: unknown) => unknown;
  joiner: ValueJoiner<unknown, unknown, unknown>;
  leftStore: string;
  rightStore: string;
  leftKeySerde: Serde<unknown>;
  leftValueSerde: Serde<unknown>;
  /** The right table's key serde: foreign keys are written with it. */
  foreignKeySerde: Serde<unknown>;
  rightValueSerde: Serde<unknown>;
  result: StoreDraft;
}

/**
 * A foreign-key table-table join (KIP-213). Parent 0 is the left table, parent 1 the right.
 * It writes, for join `<name>`:
 *   left sub-topology:  <name>-subscription-send   (left updates -> subscriptions)
 *                       <name>-response-resolver   (responses -> results, stale dropped)
 *                       <name>-output              (the result table, store `result`)
 *   <app>-<name>-subscription-registration-topic   (keyed by foreign key; as many
 *                                                   partitions as the right table's topic)
 *   right sub-topology: <name>-subscription-receive (store <name>-subscription-store)
 *                       <name>-foreign-change       (right updates -> responses)
 *   <app>-<name>-subscription-response-topic       (keyed by the left key; as many
 *                                                   partitions as the left table's topic)
 * Both topics are internal (made like repartition topics); each is co-partitioned with the
 * table on its reading side, which the co-partition groups make ensureTopics enforce.
 */
export class ForeignKeyJoinNode extends GraphNode {
  constructor(
    name: string,
    private readonly spec: ForeignKeyJoinSpec,
  ) {
    super(name);
    this.partitionedByKey = true;
  }

  override outputName(): string {
    return `${this.name}-output`;
  }

  writeTo(builder: TopologyBuilder, parentOutputs: readonly string[]): void {
    const { spec, name } = this;
    const app = builder.applicationId;
    const n = (part: string) => `${name}-${part}`;
    const subscriptionTopic = `${app}-${name}-subscription-registration-topic`;
    const responseTopic = `${app}-${name}-subscription-response-topic`;
    for (const topic of [subscriptionTopic, responseTopic]) {
      builder.addInternalTopic({
        name: topic,
        purpose: "repartition",
        partitions: null,
        cleanupPolicy: "delete",
      });
    }
    const side: LeftSide<unknown> = { leftJoin: spec.leftJoin, valueSerde: spec.leftValueSerde };
    const kind = spec.leftJoin ? "left" : "inner";
    const responses = responseSerde(spec.rightValueSerde) as Serde<unknown>;
    const bytes = Serdes.bytes() as Serde<unknown>;
    const subscriptions = subscriptionSerde as Serde<unknown>;

    // left side: updates of the left table become subscriptions
    builder.addProcessor(
      n("subscription-send"),
      () =>
        new SubscriptionSendProcessor(
          side,
          spec.foreignKey,
          spec.joiner,
          spec.leftKeySerde,
          spec.foreignKeySerde,
          n("subscription-sink"),
          this.outputName(),
        ),
      [parentOutputs[0] as string],
      `${kind} foreign-key join of ${spec.leftStore} with ${spec.rightStore}: subscribes left rows`,
    );
    builder.addSink(n("subscription-sink"), subscriptionTopic, bytes, subscriptions, [
      n("subscription-send"),
    ]);

    // right side: subscriptions and right updates become responses
    builder.addSource(
      n("subscription-source"),
      [subscriptionTopic],
      spec.foreignKeySerde,
      subscriptions,
    );
    const subscriptionStore = n("subscription-store");
    builder.addProcessor(
      n("subscription-receive"),
      () => new SubscriptionReceiveProcessor(subscriptionStore, spec.rightStore),
      [n("subscription-source")],
      "records subscriptions per foreign key and answers them",
    );
    builder.addStore(
      storeSpec(
        {
          name: subscriptionStore,
          keySerde: spec.foreignKeySerde,
          valueSerde: subscribersSerde as Serde<unknown>,
          loggingEnabled: true,
        },
        app,
      ),
      [n("subscription-receive")],
    );
    builder.connectStore(spec.rightStore, [n("subscription-receive")]);
    builder.addProcessor(
      n("foreign-change"),
      () => new ForeignTableChangeProcessor(subscriptionStore),
      [parentOutputs[1] as string],
      "answers every subscriber of an updated right row",
    );
    builder.connectStore(subscriptionStore, [n("foreign-change")]);
    builder.addSink(n("response-sink"), responseTopic, bytes, responses, [
      n("subscription-receive"),
      n("foreign-change"),
    ]);
    builder.addCoPartitionGroup(n("subscription-receive"), [
      n("subscription-receive"),
      n("foreign-change"),
    ]);

    // left side again: responses become results
    builder.addSource(n("response-source"), [responseTopic], spec.leftKeySerde, responses);
    builder.addProcessor(
      n("response-resolver"),
      () => new ResponseResolverProcessor(side, spec.leftStore, spec.joiner),
      [n("response-source")],
      "joins answers with the current left row; drops those made for an older one",
    );
    builder.connectStore(spec.leftStore, [n("response-resolver")]);
    builder.addProcessor(
      this.outputName(),
      () => new ForeignKeyJoinOutputProcessor(spec.result.name),
      [n("response-resolver"), n("subscription-send")],
    );
    builder.addStore(storeSpec(spec.result, app), [this.outputName()]);
    builder.addCoPartitionGroup(n("response-resolver"), [
      n("response-resolver"),
      n("subscription-send"),
    ]);
  }
}
