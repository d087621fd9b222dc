import type { GroupCoordinator } from "../src/groups/group-coordinator.js";
import type { AssignorName, OffsetSpec, PartitionOffset } from "../src/client/log-client.js";
import type { JoinGroupRequest, JoinGroupResponse } from "../src/client/log-service.js";
import type { OffsetJournal } from "../src/groups/offset-store.js";
import type { PartitionOffsets } from "../src/groups/offset-reset.js";
import { UnknownTopicError } from "../src/errors.js";
import type { LogRecord, ProducerRecord, TopicPartition } from "../src/record.js";

/**
 * An OffsetJournal over an array: a stand-in for the `__consumer_offsets` PartitionLog
 * (the real one is covered in offset-store.test.ts when it exists). It keeps records in
 * append order with gapless offsets, as the log would, and copies the buffers.
 */
export class ArrayOffsetJournal implements OffsetJournal {
  readonly records: LogRecord[] = [];
  appends = 0;

  async append(records: ProducerRecord[]): Promise<void> {
    this.appends++;
    for (const r of records) {
      this.records.push({
        offset: this.records.length,
        timestamp: r.timestamp ?? Date.now(),
        key: r.key ? Buffer.from(r.key) : null,
        value: r.value ? Buffer.from(r.value) : null,
        headers: {},
      });
    }
  }

  readAll(): LogRecord[] {
    return this.records.slice();
  }
}

/** One partition of the in-memory log stand-in: offsets logStart.., one timestamp each. */
export interface PartitionSpec {
  logStart: number;
  timestamps: number[];
}

/**
 * PartitionOffsets over a table held in memory, standing in for the embedded log's topic
 * registry. Like Kafka (and unlike the embedded log, which answers the log end), a
 * timestamp lookup with no record that new answers -1, so the coordinator's handling of
 * both is exercised.
 */
export class InMemoryPartitionOffsets implements PartitionOffsets {
  readonly topics = new Map<string, PartitionSpec[]>();

  set(topic: string, partitions: PartitionSpec[]): this {
    this.topics.set(topic, partitions);
    return this;
  }

  /** A topic of `count` empty partitions. */
  empty(topic: string, count: number): this {
    return this.set(
      topic,
      Array.from({ length: count }, () => ({ logStart: 0, timestamps: [] })),
    );
  }

  partitionCount(topic: string): number {
    return this.get(topic).length;
  }

  listOffsets(topic: string, spec: OffsetSpec): PartitionOffset[] {
    return this.get(topic).map((p, partition) => {
      let offset: number;
      if (spec === "earliest") offset = p.logStart;
      else if (spec === "latest") offset = p.logStart + p.timestamps.length;
      else {
        const i = p.timestamps.findIndex((t) => t >= spec.timestamp);
        offset = i === -1 ? -1 : p.logStart + i;
      }
      return { topic, partition, offset };
    });
  }

  private get(topic: string): PartitionSpec[] {
    const t = this.topics.get(topic);
    if (t === undefined) throw new UnknownTopicError(topic);
    return t;
  }
}

export interface TestMemberOptions {
  clientId?: string;
  topics: string[];
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  assignor?: AssignorName;
  heartbeatIntervalMs?: number;
}

/**
 * A group member driven the way a consumer drives one: join, then heartbeat on an
 * interval and rejoin whenever the heartbeat says a rebalance is on. It passes what it
 * owns on each rejoin, like the real consumer.
 */
export class TestMember {
  memberId = "";
  generation = -1;
  assignment: TopicPartition[] = [];
  joins = 0;
  private timer: NodeJS.Timeout | undefined;
  private joining: Promise<JoinGroupResponse> | undefined;
  lastError: Error | undefined;

  constructor(
    private readonly coordinator: GroupCoordinator,
    readonly groupId: string,
    private readonly options: TestMemberOptions,
  ) {}

  request(): JoinGroupRequest {
    return {
      groupId: this.groupId,
      memberId: this.memberId,
      clientId: this.options.clientId ?? "test",
      topics: this.options.topics,
      sessionTimeoutMs: this.options.sessionTimeoutMs ?? 400,
      rebalanceTimeoutMs: this.options.rebalanceTimeoutMs ?? 2000,
      assignor: this.options.assignor ?? "range",
      owned: this.assignment,
    };
  }

  join(): Promise<JoinGroupResponse> {
    if (this.joining !== undefined) return this.joining;
    this.joins++;
    this.joining = this.coordinator
      .joinGroup(this.request())
      .then((r) => {
        this.memberId = r.memberId;
        this.generation = r.generation;
        this.assignment = r.assignment;
        return r;
      })
      .finally(() => {
        this.joining = undefined;
      });
    return this.joining;
  }

  /** Joins and keeps the membership alive until stop(). */
  async start(): Promise<JoinGroupResponse> {
    const r = await this.join();
    this.startHeartbeats();
    return r;
  }

  startHeartbeats(): void {
    this.stop();
    this.timer = setInterval(() => void this.beat(), this.options.heartbeatIntervalMs ?? 50);
  }

  /** Stops heartbeating (as a process that hangs or dies would). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  async leave(): Promise<void> {
    this.stop();
    await this.coordinator.leaveGroup({ groupId: this.groupId, memberId: this.memberId });
  }

  private async beat(): Promise<void> {
    if (this.joining !== undefined || this.memberId === "") return;
    try {
      const r = await this.coordinator.heartbeat({
        groupId: this.groupId,
        memberId: this.memberId,
        generation: this.generation,
      });
      if (r.rebalance) await this.join();
    } catch (err) {
      this.lastError = err as Error;
    }
  }
}

/** Polls `condition` every 10 ms until it holds; fails with `what` after `timeoutMs`. */
export async function until(
  condition: () => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function sortTps(tps: readonly TopicPartition[]): string[] {
  return tps.map((tp) => `${tp.topic}-${tp.partition}`).sort();
}

/** All partitions of the given topics, as "topic-p" strings, sorted. */
export function allPartitions(counts: Record<string, number>): string[] {
  const out: string[] = [];
  for (const [t, n] of Object.entries(counts)) for (let p = 0; p < n; p++) out.push(`${t}-${p}`);
  return out.sort();
}
