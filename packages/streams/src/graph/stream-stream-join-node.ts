import type { Buffered } from "../joins/join-buffer-serde.js";
import { StreamStreamJoinProcessor } from "../joins/stream-stream-join-processor.js";
import type { JoinType, ValueJoiner } from "../joins/join-type.js";
import { PassThroughProcessor } from "../operators/stream-processors.js";
import type { Serde } from "../serdes.js";
import type { TopologyBuilder } from "../topology/topology-builder.js";
import type { JoinWindows } from "../windows/join-windows.js";
import { GraphNode, type RepartitionRequest, type StoreDraft, storeSpec } from "./graph-node.js";

export interface StreamStreamJoinSpec {
  type: JoinType;
  windows: JoinWindows;
  joiner: ValueJoiner<unknown, unknown, unknown>;
  keySerde: Serde<unknown>;
  leftBuffer: StoreDraft;
  rightBuffer: StoreDraft;
  /** Unmatched records waiting for their window to close (left and outer joins). */
  pending: StoreDraft | null;
  leftRepartition: RepartitionRequest;
  rightRepartition: RepartitionRequest;
}

/**
 * A stream-stream join: `<name>-left` and `<name>-right` each buffer their side's records
 * in a window store and join them with the other side's, and `<name>` merges their
 * output (Kafka's JOINTHIS / JOINOTHER / MERGE). Both inputs must be co-partitioned; a
 * re-keyed side gets a repartition topic `<applicationId>-<name>-left|right-repartition`.
 */
export class StreamStreamJoinNode extends GraphNode {
  constructor(
    name: string,
    readonly spec: StreamStreamJoinSpec,
  ) {
    super(name);
    this.partitionedByKey = true;
  }

  override repartitionFor(parentIndex: number): RepartitionRequest | null {
    return parentIndex === 0 ? this.spec.leftRepartition : this.spec.rightRepartition;
  }

  writeTo(builder: TopologyBuilder, parentOutputs: readonly string[]): void {
    const s = this.spec;
    const left = `${this.name}-left`;
    const right = `${this.name}-right`;
    const side = (isLeft: boolean) => ({
      left: isLeft,
      thisStore: (isLeft ? s.leftBuffer : s.rightBuffer).name,
      otherStore: (isLeft ? s.rightBuffer : s.leftBuffer).name,
      pendingStore: s.pending?.name ?? null,
      type: s.type,
      windows: s.windows,
      keySerde: s.keySerde,
      bufferSerde: (isLeft ? s.leftBuffer : s.rightBuffer).valueSerde as Serde<Buffered<unknown>>,
      otherBufferSerde: (isLeft ? s.rightBuffer : s.leftBuffer).valueSerde as Serde<
        Buffered<unknown>
      >,
    });
    const detail = `${s.type} stream-stream join, ${s.windows}`;
    builder.addProcessor(
      left,
      () => new StreamStreamJoinProcessor(side(true), s.joiner),
      [parentOutputs[0] as string],
      `${detail}, left side`,
    );
    builder.addProcessor(
      right,
      () => new StreamStreamJoinProcessor(side(false), s.joiner),
      [parentOutputs[1] as string],
      `${detail}, right side`,
    );
    for (const d of [s.leftBuffer, s.rightBuffer, s.pending]) {
      if (d !== null) builder.addStore(storeSpec(d, builder.applicationId), [left, right]);
    }
    builder.addProcessor(this.name, () => new PassThroughProcessor(), [left, right], detail);
    builder.addCoPartitionGroup(this.name, [left, right]);
  }
}
