import { setTimeout as sleep } from "node:timers/promises";
import type { ConnectionPool } from "@platformatic/kafka";
import {
  ClosedError,
  CONSUMER_TIMEOUT_DEFAULTS,
  type ConsumerGroupMetadata,
  checkIsolation,
  type CommittedOffset,
  type Consumer,
  type ConsumerOptions,
  type FetchedPartition,
  GroupError,
  InvalidArgumentError,
  type LogRecord,
  OffsetOutOfRangeError,
  type TopicPartition,
  validateGroupId,
} from "@tributary/log";
import { fromKafkaError } from "./errors.js";
import { type FetchPartition, type FetchResponse, fetchBytes } from "./fetch-request.js";
import { appendFetched } from "./fetched-records.js";
import type { KafkaAdmin } from "./kafka-admin.js";
import type { KafkaCluster, TopicInfo } from "./kafka-cluster.js";
import { GroupMember } from "./group-member.js";
import { offsetCommitTopics } from "./offset-commit-topics.js";

/** Kafka's consumer defaults (fetch.max.bytes, max.partition.fetch.bytes). */
const DEFAULT_MAX_POLL_BYTES = 50 * 1024 * 1024;
const DEFAULT_MAX_PARTITION_FETCH_BYTES = 1024 * 1024;
/** Kafka's error code for a fetch offset outside the log; other partition errors refresh metadata. */
const OFFSET_OUT_OF_RANGE = 1;

/**
 * LogClient's Consumer over Kafka, poll-based as Kafka's Java consumer: nothing is fetched
 * in the background, so poll() returns exactly what was fetched for it and commit() commits
 * exactly the positions the application reached. (The Kafka client's own consumer is a
 * push stream that fetches ahead; bridging it would make "what was processed" guesswork.)
 *
 * - Group mode (`subscribe`): a GroupMember joins; when it needs to rejoin (the group
 *   rebalances, or the coordinator dropped it), the next poll calls the listener's
 *   onPartitionsRevoked (or onPartitionsLost) first, rejoins, then onPartitionsAssigned:
 *   tasks move with their partitions. Commits carry the generation and member id, so
 *   Kafka refuses a zombie's commit (ILLEGAL_GENERATION / UNKNOWN_MEMBER).
 * - Manual mode (`assign`): no group membership; with a groupId, commits go in as Kafka's
 *   "simple" consumer does (generation -1), which Kafka refuses while the group has members.
 * - A partition without a position starts at its committed offset, else per
 *   autoOffsetReset; an out-of-range position is reset the same way.
 */
export class KafkaConsumer implements Consumer {
  private subscription: string[] | null = null;
  private assigned: TopicPartition[] = [];
  private readonly positions = new Map<string, number>();
  private readonly paused = new Set<string>();
  private readonly member: GroupMember | undefined;
  private readonly groupPool: ConnectionPool;
  private readonly fetchPool: ConnectionPool;
  private readonly wireGroupId: string | undefined;
  private readonly readCommitted: boolean;
  private fetchVersion: number | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly cluster: KafkaCluster,
    private readonly admin: KafkaAdmin,
    private readonly options: ConsumerOptions = {},
  ) {
    this.readCommitted =
      checkIsolation(options.isolation ?? "read_uncommitted") === "read_committed";
    const defaults = CONSUMER_TIMEOUT_DEFAULTS;
    const sessionTimeoutMs = options.sessionTimeoutMs ?? defaults.sessionTimeoutMs;
    const rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? defaults.rebalanceTimeoutMs;
    this.groupPool = cluster.newPool(rebalanceTimeoutMs);
    this.fetchPool = cluster.newPool(60_000);
    if (options.groupId !== undefined) {
      validateGroupId(options.groupId);
      this.wireGroupId = cluster.wire(options.groupId);
      this.member = new GroupMember(cluster, this.groupPool, {
        wireGroupId: this.wireGroupId,
        sessionTimeoutMs,
        heartbeatIntervalMs:
          options.heartbeatIntervalMs ??
          Math.max(100, Math.min(defaults.heartbeatIntervalMs, Math.floor(sessionTimeoutMs / 3))),
        maxPollIntervalMs: options.maxPollIntervalMs ?? defaults.maxPollIntervalMs,
        rebalanceTimeoutMs,
        assignor: options.assignor ?? "range",
        groupInstanceId: options.groupInstanceId ?? null,
      });
    }
  }

  async subscribe(topics: string[]): Promise<void> {
    this.checkOpen();
    if (this.member === undefined) {
      throw new InvalidArgumentError(
        "subscribe needs a consumer with a groupId; use assign() without one",
      );
    }
    for (const t of topics) this.cluster.checkTopicName(t);
    this.subscription = [...new Set(topics)].sort();
    this.member.rejoinNeeded = true;
  }

  assign(partitions: TopicPartition[]): void {
    this.checkOpen();
    if (this.subscription !== null) {
      throw new InvalidArgumentError(
        "this consumer subscribed through its group: it cannot also assign partitions by hand",
      );
    }
    for (const tp of partitions) this.cluster.checkTopicName(tp.topic);
    this.setAssignment(partitions);
  }

  groupMetadata(): ConsumerGroupMetadata {
    if (this.member === undefined || this.options.groupId === undefined) {
      throw new InvalidArgumentError("groupMetadata needs a consumer with a groupId");
    }
    return {
      groupId: this.options.groupId,
      memberId: this.member.memberId,
      generation: this.member.generationId,
      ...(this.options.groupInstanceId === undefined
        ? {}
        : { groupInstanceId: this.options.groupInstanceId }),
    };
  }

  assignment(): TopicPartition[] {
    return this.assigned.map((tp) => ({ ...tp }));
  }

  async poll(options: { maxWaitMs?: number } = {}): Promise<FetchedPartition[]> {
    this.checkOpen();
    this.member?.notePoll(true);
    try {
      return await this.pollOnce(options);
    } finally {
      this.member?.notePoll(false);
    }
  }

  private async pollOnce(options: { maxWaitMs?: number }): Promise<FetchedPartition[]> {
    const maxWaitMs = Math.max(0, options.maxWaitMs ?? 500);
    if (this.subscription !== null && this.member !== undefined && !this.member.active) {
      await this.rejoin();
    }
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const { fetched, retry } = await this.fetchOnce(Math.max(0, deadline - Date.now()));
      // A partition error (a leader moving, metadata behind a new topic) is not "nothing
      // arrived": refresh and fetch again while the caller's wait lasts.
      if (fetched.length > 0 || !retry || Date.now() >= deadline) return fetched;
      await sleep(Math.min(50, Math.max(0, deadline - Date.now())));
    }
  }

  private async fetchOnce(
    maxWaitMs: number,
  ): Promise<{ fetched: FetchedPartition[]; retry: boolean }> {
    await this.initPositions();
    const fetchable = this.assigned.filter((tp) => {
      const k = key(tp.topic, tp.partition);
      return !this.paused.has(k) && this.positions.has(k);
    });
    if (fetchable.length === 0) {
      await sleep(Math.min(maxWaitMs, 100));
      return { fetched: [], retry: false };
    }
    const infos = await this.cluster.topics([...new Set(fetchable.map((tp) => tp.topic))]);
    const byLeader = new Map<number, TopicPartition[]>();
    for (const tp of fetchable) {
      const leader = infos.get(tp.topic)!.leaders[tp.partition] ?? -1;
      let list = byLeader.get(leader);
      if (list === undefined) {
        list = [];
        byLeader.set(leader, list);
      }
      list.push(tp);
    }
    const results = await Promise.all(
      [...byLeader].map(([leader, tps]) => this.fetchFrom(leader, tps, infos, maxWaitMs)),
    );
    return { fetched: results.flatMap((r) => r.fetched), retry: results.some((r) => r.retry) };
  }

  seek(partition: TopicPartition, offset: number): void {
    this.checkOpen();
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new InvalidArgumentError(`seek to ${offset}: an offset is an integer >= 0`);
    }
    if (!this.isAssigned(partition)) {
      throw new InvalidArgumentError(
        `seek on ${partition.topic}-${partition.partition}: the partition is not assigned to this consumer`,
      );
    }
    this.positions.set(key(partition.topic, partition.partition), offset);
  }

  position(partition: TopicPartition): number | undefined {
    return this.positions.get(key(partition.topic, partition.partition));
  }

  pause(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.paused.add(key(tp.topic, tp.partition));
  }

  resume(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.paused.delete(key(tp.topic, tp.partition));
  }

  async commit(offsets?: CommittedOffset[]): Promise<void> {
    this.checkOpen();
    if (this.wireGroupId === undefined || this.member === undefined) {
      throw new InvalidArgumentError(
        "commit needs a consumer with a groupId: offsets are kept per group",
      );
    }
    const rows =
      offsets ??
      this.assigned.flatMap((tp): CommittedOffset[] => {
        const offset = this.positions.get(key(tp.topic, tp.partition));
        return offset === undefined ? [] : [{ ...tp, offset }];
      });
    if (rows.length === 0) return;
    const topics = offsetCommitTopics(this.cluster, rows);
    // In group mode the commit is fenced by the generation this member joined; a manual
    // consumer commits as Kafka's simple consumer (generation -1, no member id).
    const grouped = this.subscription !== null;
    if (grouped && (this.member.generationId < 0 || this.member.memberId === "")) {
      // Dropped by the coordinator (or not joined yet): sent without a generation, Kafka
      // would take this as a simple consumer's commit whenever the group is empty, and a
      // zombie's old positions would overwrite what the partitions' next owner committed.
      throw new GroupError(
        "UNKNOWN_MEMBER",
        `commit offsets of group '${this.options.groupId}' refused: this consumer is not a member of the group now (its session expired or it has not joined); poll() rejoins, then commit what the new assignment gives`,
      );
    }
    const generation = grouped ? this.member.generationId : -1;
    const memberId = grouped ? this.member.memberId : "";
    const wireGroupId = this.wireGroupId;
    const offsetCommit = await this.cluster.api("OffsetCommit");
    try {
      await this.cluster.onCoordinator(
        wireGroupId,
        (c) =>
          offsetCommit(
            c,
            wireGroupId,
            generation,
            memberId,
            grouped ? (this.options.groupInstanceId ?? null) : null,
            topics,
          ),
        this.groupPool,
      );
    } catch (err) {
      if (grouped) this.member.noteGroupError(err);
      throw fromKafkaError(err, `commit offsets of group '${this.options.groupId}'`);
    }
  }

  async committed(partitions: TopicPartition[]): Promise<CommittedOffset[]> {
    this.checkOpen();
    if (this.options.groupId === undefined) {
      throw new InvalidArgumentError(
        "committed needs a consumer with a groupId: offsets are kept per group",
      );
    }
    const topics = [...new Set(partitions.map((tp) => tp.topic))];
    const all = await this.admin.fetchCommittedOffsets(this.options.groupId, topics);
    const wanted = new Set(partitions.map((tp) => key(tp.topic, tp.partition)));
    return all.filter((o) => wanted.has(key(o.topic, o.partition)));
  }

  /**
   * Hands the partitions back, then leaves the group. As the Java consumer on close: the
   * listener's onPartitionsRevoked runs while the consumer is still open, so a commit inside
   * it goes through, also when a rebalance is pending but this member still holds its
   * generation (Kafka accepts that generation's commits until the group re-forms); a member
   * the coordinator already dropped gets onPartitionsLost instead. The group is left and the
   * connections closed even if the listener throws; its error is thrown after that. Calls
   * while closing share one close, so the listener runs once.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    let listenerError: unknown;
    const owned = this.assignment();
    if (this.member !== undefined && this.subscription !== null && owned.length > 0) {
      try {
        if (this.member.lost || this.member.memberId === "") {
          await this.options.listener?.onPartitionsLost?.(owned);
        } else {
          await this.options.listener?.onPartitionsRevoked?.(owned);
        }
      } catch (err) {
        listenerError = err;
      }
    }
    this.closed = true;
    await this.member?.leave();
    this.setAssignment([]);
    await Promise.all([this.groupPool.close(), this.fetchPool.close()]);
    if (listenerError !== undefined) throw listenerError;
  }

  /** Revokes (or loses) the current partitions, rejoins, and hands over the new ones. */
  private async rejoin(): Promise<void> {
    const member = this.member!;
    const previous = this.assignment();
    if (previous.length > 0) {
      if (member.lost) await this.options.listener?.onPartitionsLost?.(previous);
      else await this.options.listener?.onPartitionsRevoked?.(previous);
    }
    const owned = member.lost
      ? []
      : previous.map((tp) => ({ topic: this.cluster.wire(tp.topic), partition: tp.partition }));
    this.setAssignment([]);
    const wireTopics = this.subscription!.map((t) => this.cluster.wire(t));
    const joined = await member.join(wireTopics, owned);
    const mine: TopicPartition[] = [];
    for (const tp of joined.assignment) {
      const topic = this.cluster.local(tp.topic);
      if (topic !== undefined) mine.push({ topic, partition: tp.partition });
    }
    this.setAssignment(mine);
    await this.initPositions();
    if (mine.length > 0 || previous.length > 0) {
      await this.options.listener?.onPartitionsAssigned?.(this.assignment());
    }
  }

  private setAssignment(partitions: readonly TopicPartition[]): void {
    const keep = new Set(partitions.map((tp) => key(tp.topic, tp.partition)));
    for (const k of [...this.positions.keys()]) if (!keep.has(k)) this.positions.delete(k);
    for (const k of [...this.paused]) if (!keep.has(k)) this.paused.delete(k);
    this.assigned = partitions
      .map((tp) => ({ topic: tp.topic, partition: tp.partition }))
      .sort((a, b) =>
        a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
      );
  }

  /** Gives every assigned partition without a position its committed offset, else a reset. */
  private async initPositions(): Promise<void> {
    const missing = this.assigned.filter((tp) => !this.positions.has(key(tp.topic, tp.partition)));
    if (missing.length === 0) return;
    let committed: CommittedOffset[] = [];
    if (this.options.groupId !== undefined) committed = await this.committed(missing);
    for (const c of committed) this.positions.set(key(c.topic, c.partition), c.offset);
    const rest = missing.filter((tp) => !this.positions.has(key(tp.topic, tp.partition)));
    await this.resetPositions(rest);
  }

  /** `outOfRange`: the positions Kafka refused, by partition key; the others had none. */
  private async resetPositions(
    partitions: readonly TopicPartition[],
    outOfRange?: ReadonlyMap<string, number>,
  ): Promise<void> {
    if (partitions.length === 0) return;
    const policy = this.options.autoOffsetReset ?? "latest";
    if (policy === "none") {
      const tp = partitions[0]!;
      const from = outOfRange?.get(key(tp.topic, tp.partition)) ?? -1;
      throw new OffsetOutOfRangeError(tp.topic, tp.partition, from, -1, -1);
    }
    for (const topic of new Set(partitions.map((tp) => tp.topic))) {
      const offsets = await this.admin.offsetsAt(
        topic,
        policy === "earliest" ? -2n : -1n,
        this.readCommitted,
      );
      for (const tp of partitions) {
        if (tp.topic !== topic) continue;
        const k = key(topic, tp.partition);
        const to = offsets.get(tp.partition) ?? 0;
        this.positions.set(k, to);
        const from = outOfRange?.get(k);
        if (from !== undefined) this.options.onPositionReset?.({ ...tp, from, to });
      }
    }
  }

  /** One Fetch to one leader for `tps`, long-polling up to `maxWaitMs`. */
  private async fetchFrom(
    leader: number,
    tps: readonly TopicPartition[],
    infos: Map<string, TopicInfo>,
    maxWaitMs: number,
  ): Promise<{ fetched: FetchedPartition[]; retry: boolean }> {
    const fetchOffsets = new Map<string, number>();
    const request = new Map<string, { topicId: string; partitions: FetchPartition[] }>();
    const partitionMaxBytes =
      this.options.maxPartitionFetchBytes ?? DEFAULT_MAX_PARTITION_FETCH_BYTES;
    for (const tp of tps) {
      const info = infos.get(tp.topic)!;
      const offset = this.positions.get(key(tp.topic, tp.partition))!;
      fetchOffsets.set(key(tp.topic, tp.partition), offset);
      let t = request.get(info.id);
      if (t === undefined) {
        t = { topicId: info.id, partitions: [] };
        request.set(info.id, t);
      }
      t.partitions.push({
        partition: tp.partition,
        currentLeaderEpoch: -1,
        fetchOffset: BigInt(offset),
        lastFetchedEpoch: -1,
        partitionMaxBytes,
      });
    }
    let response: FetchResponse;
    try {
      this.fetchVersion ??= await this.cluster.apiVersion("Fetch");
      response = await fetchBytes(
        await this.cluster.node(leader, this.fetchPool),
        this.fetchVersion,
        {
          maxWaitMs,
          maxBytes: this.options.maxPollBytes ?? DEFAULT_MAX_POLL_BYTES,
          readCommitted: this.readCommitted,
        },
        [...request.values()],
      );
    } catch (err) {
      this.cluster.invalidate();
      if (this.closed) return { fetched: [], retry: false };
      throw fromKafkaError(err, "fetch");
    }
    const byId = new Map<string, string>();
    for (const [topic, info] of infos) byId.set(info.id, topic);
    const out: FetchedPartition[] = [];
    const toReset: TopicPartition[] = [];
    let retry = false;
    for (const t of response.responses) {
      const topic = byId.get(t.topicId);
      if (topic === undefined) continue;
      for (const p of t.partitions) {
        const k = key(topic, p.partitionIndex);
        const fetchedAt = fetchOffsets.get(k);
        // The partition moved (rebalance, seek) while the fetch was out: drop what came.
        if (fetchedAt === undefined || this.positions.get(k) !== fetchedAt) continue;
        if (p.errorCode !== 0) {
          if (p.errorCode === OFFSET_OUT_OF_RANGE) {
            this.positions.delete(k);
            toReset.push({ topic, partition: p.partitionIndex });
          } else {
            this.cluster.invalidate();
            retry = true;
          }
          continue;
        }
        const records: LogRecord[] = [];
        const next = appendFetched(
          p.records,
          fetchedAt,
          this.readCommitted,
          p.abortedTransactions,
          `fetch from ${topic}-${p.partitionIndex}`,
          records,
        );
        this.positions.set(k, next);
        if (records.length > 0) {
          out.push({
            topic,
            partition: p.partitionIndex,
            records,
            // read_committed never reads past the last stable offset: lag is measured to it.
            highWatermark: Number(this.readCommitted ? p.lastStableOffset : p.highWatermark),
          });
        }
      }
    }
    if (toReset.length > 0) {
      await this.resetPositions(toReset, fetchOffsets);
      retry = true;
    }
    return { fetched: out, retry };
  }

  private isAssigned(tp: TopicPartition): boolean {
    return this.assigned.some((a) => a.topic === tp.topic && a.partition === tp.partition);
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError("consumer");
  }
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
