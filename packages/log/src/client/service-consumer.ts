import { ClosedError, InvalidArgumentError, TributaryError } from "../errors.js";
import type {
  AssignorName,
  AutoOffsetReset,
  CommittedOffset,
  Consumer,
  ConsumerGroupMetadata,
  ConsumerOptions,
  FetchedPartition,
  PositionReset,
  RebalanceListener,
} from "./log-client.js";
import { checkIsolation, type IsolationLevel } from "./isolation-level.js";
import { fetchedRecords, fetchKey, readableEnd } from "./fetched-records.js";
import type { FetchRequest, FetchResponse, LogService } from "./log-service.js";
import { type TopicPartition, topicPartitionKey } from "../record.js";
import { CONSUMER_DEFAULTS as DEFAULTS, CONSUMER_TIMEOUT_DEFAULTS } from "./consumer-defaults.js";

// Kept importable from here, where the package index and the kafka package find it.
export { CONSUMER_TIMEOUT_DEFAULTS };

interface PartitionState {
  tp: TopicPartition;
  /** Next offset to return; undefined until looked up (committed offset or reset). */
  position: number | undefined;
  paused: boolean;
}

/**
 * The consumer over a LogService, in the shape of Kafka's: `poll` does the group's work
 * (join, rebalance listener calls) and fetches; heartbeats run on a timer so a member that
 * is busy processing a batch is not declared dead, while a rebalance waits for its next
 * poll (bounded by the rebalance timeout). The timer runs on the application's event loop
 * (Kafka's Java client has a heartbeat thread): a batch processed without yielding for
 * longer than the session timeout drops the member, so the session is Kafka's 45 s and
 * the streams runtime yields between slices of a batch. A member that does not poll for
 * `maxPollIntervalMs` leaves the group on its own, as Kafka's does.
 *
 * Rebalances are eager: on a rebalance every owned partition is revoked (the listener
 * commits) before the member rejoins, so no partition is ever processed by two members of
 * one generation. The member reports what it owned, so the sticky assignor hands most
 * partitions straight back.
 */
export class ServiceConsumer implements Consumer {
  private readonly groupId: string | undefined;
  private readonly clientId: string;
  private readonly groupInstanceId: string | undefined;
  private readonly autoOffsetReset: AutoOffsetReset;
  private readonly sessionTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly maxPollIntervalMs: number;
  private readonly rebalanceTimeoutMs: number;
  private readonly assignor: AssignorName;
  private readonly maxPollBytes: number;
  private readonly maxPartitionFetchBytes: number;
  private readonly listener: RebalanceListener;
  private readonly isolation: IsolationLevel;

  private readonly partitions = new Map<string, PartitionState>();
  private subscription: string[] = [];
  private memberId = "";
  private generation = -1;
  private needsJoin = false;
  /** The heartbeat learned that our session expired; poll reports the partitions lost. */
  private lost = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** When the application last called poll (or the running poll returned). */
  private lastPollAt = Date.now();
  private polling = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly onPositionReset: ((reset: PositionReset) => void) | undefined;
  /** A fetch sent ahead from the positions the last poll left (see prefetch). */
  private prefetched: { key: string; responses: Promise<FetchResponse[] | undefined> } | undefined;

  constructor(
    private readonly service: LogService,
    options: ConsumerOptions = {},
  ) {
    this.groupId = options.groupId;
    this.clientId = options.clientId ?? `consumer-${process.pid}`;
    this.groupInstanceId = options.groupInstanceId;
    this.autoOffsetReset = options.autoOffsetReset ?? "latest";
    this.isolation =
      options.isolation === undefined ? "read_uncommitted" : checkIsolation(options.isolation);
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs;
    this.heartbeatIntervalMs =
      options.heartbeatIntervalMs ??
      Math.min(DEFAULTS.heartbeatIntervalMs, Math.floor(this.sessionTimeoutMs / 3));
    this.maxPollIntervalMs = options.maxPollIntervalMs ?? DEFAULTS.maxPollIntervalMs;
    this.rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? DEFAULTS.rebalanceTimeoutMs;
    this.assignor = options.assignor ?? "sticky";
    this.maxPollBytes = options.maxPollBytes ?? DEFAULTS.maxPollBytes;
    this.maxPartitionFetchBytes = options.maxPartitionFetchBytes ?? DEFAULTS.maxPartitionFetchBytes;
    this.listener = options.listener ?? {};
    this.onPositionReset = options.onPositionReset;
  }

  async subscribe(topics: string[]): Promise<void> {
    this.checkOpen();
    if (this.groupId === undefined) {
      throw new InvalidArgumentError(
        "subscribe needs a consumer with a groupId; use assign() for manual assignment",
      );
    }
    if (topics.length === 0) throw new InvalidArgumentError("subscribe needs at least one topic");
    for (const t of topics) await this.service.partitionCount(t); // fails fast on unknown topics
    this.subscription = [...new Set(topics)].sort();
    this.needsJoin = true;
  }

  assign(partitions: TopicPartition[]): void {
    this.checkOpen();
    if (this.subscription.length > 0) {
      throw new InvalidArgumentError(
        "this consumer subscribed through its group; it cannot also assign()",
      );
    }
    this.partitions.clear();
    for (const tp of partitions) {
      this.partitions.set(topicPartitionKey(tp.topic, tp.partition), {
        tp: { topic: tp.topic, partition: tp.partition },
        position: undefined,
        paused: false,
      });
    }
  }

  groupMetadata(): ConsumerGroupMetadata {
    if (this.groupId === undefined) {
      throw new InvalidArgumentError("groupMetadata needs a consumer with a groupId");
    }
    return {
      groupId: this.groupId,
      memberId: this.memberId,
      generation: this.generation,
      ...(this.groupInstanceId === undefined ? {} : { groupInstanceId: this.groupInstanceId }),
    };
  }

  assignment(): TopicPartition[] {
    return [...this.partitions.values()].map((s) => ({ ...s.tp }));
  }

  async poll(options: { maxWaitMs?: number } = {}): Promise<FetchedPartition[]> {
    this.checkOpen();
    // The time poll itself takes (a rejoin, the listener restoring stores) is the group's
    // work, not the application stalling: only the gaps between polls count.
    this.polling = true;
    this.lastPollAt = Date.now();
    try {
      return await this.pollOnce(options);
    } finally {
      this.polling = false;
      this.lastPollAt = Date.now();
    }
  }

  private async pollOnce(options: { maxWaitMs?: number }): Promise<FetchedPartition[]> {
    if (this.needsJoin) {
      // Listener calls happen here, inside poll, never from the heartbeat timer: the
      // application is not in the middle of a batch when its partitions go away.
      if (this.lost) {
        this.lost = false;
        const lost = this.assignment();
        this.partitions.clear();
        if (lost.length > 0) await this.listener.onPartitionsLost?.(lost);
      }
      try {
        await this.rejoin();
      } catch (err) {
        // The coordinator is restarting or unreachable: try again on the next poll.
        if (!(err instanceof TributaryError) || !err.retriable) throw err;
        await sleep(Math.min(options.maxWaitMs ?? DEFAULTS.pollMaxWaitMs, 200));
        return [];
      }
    }
    const states = [...this.partitions.values()].filter((s) => !s.paused);
    if (states.length === 0) {
      await sleep(Math.min(options.maxWaitMs ?? DEFAULTS.pollMaxWaitMs, 100));
      return [];
    }
    try {
      await this.resolvePositions(states);
    } catch (err) {
      // Offsets still pending in a transaction (read_committed): wait for its end.
      if (!(err instanceof TributaryError) || err.code !== "UNSTABLE_OFFSET_COMMIT") throw err;
      await sleep(Math.min(options.maxWaitMs ?? DEFAULTS.pollMaxWaitMs, 100));
      return [];
    }
    const requests = this.fetchRequests(states);
    const responses =
      (await this.takePrefetched(requests)) ??
      (await this.service.fetch(requests, {
        maxWaitMs: options.maxWaitMs ?? DEFAULTS.pollMaxWaitMs,
        minBytes: 1,
        maxBytes: this.maxPollBytes,
        isolation: this.isolation,
      }));
    const out: FetchedPartition[] = [];
    let behind = false;
    for (const response of responses) {
      const fetched = await this.decode(response);
      if (fetched !== undefined && fetched.records.length > 0) out.push(fetched);
      const position = this.position(response);
      if (position !== undefined && position < readableEnd(response, this.isolation)) behind = true;
    }
    if (behind) this.prefetch(states);
    return out;
  }

  private fetchRequests(states: PartitionState[]): FetchRequest[] {
    return states.map((s) => ({
      topic: s.tp.topic,
      partition: s.tp.partition,
      offset: s.position!,
      maxBytes: this.maxPartitionFetchBytes,
    }));
  }

  /**
   * Pipelining, as Kafka's fetcher does: when a poll leaves a partition behind its high
   * watermark, the next fetch (from the new positions, not waiting) goes out before the
   * records are handed to the application, so the broker reads and sends while the
   * application works. Positions move only when a poll decodes, so the prefetched answer is
   * used only if the next poll asks for exactly the same partitions at the same offsets
   * (no seek, pause, resume or rebalance in between), and dropped otherwise.
   */
  private prefetch(states: PartitionState[]): void {
    if (this.closed || this.needsJoin) return;
    const live = states.filter((s) => !s.paused && s.position !== undefined);
    if (live.length !== states.length) return;
    const requests = this.fetchRequests(live);
    this.prefetched = {
      key: fetchKey(requests),
      responses: this.service
        .fetch(requests, {
          maxWaitMs: 0,
          minBytes: 1,
          maxBytes: this.maxPollBytes,
          isolation: this.isolation,
        })
        .catch(() => undefined), // the poll that would use it fetches again and sees the error
    };
  }

  /** The prefetched answer when it is for exactly these requests and holds something. */
  private async takePrefetched(requests: FetchRequest[]): Promise<FetchResponse[] | undefined> {
    const prefetched = this.prefetched;
    this.prefetched = undefined;
    if (prefetched === undefined || prefetched.key !== fetchKey(requests)) return undefined;
    const responses = await prefetched.responses;
    if (responses?.some((r) => r.records.length > 0 || r.error !== undefined)) return responses;
    return undefined; // nothing new yet: the poll long-polls as usual
  }

  /** Decodes a partition's fetched bytes from the current position on; CRC-checked. */
  private async decode(response: FetchResponse): Promise<FetchedPartition | undefined> {
    const state = this.partitions.get(topicPartitionKey(response.topic, response.partition));
    // The partition may have been revoked, sought or paused while the fetch was in flight.
    if (state === undefined || state.paused || state.position === undefined) return undefined;
    if (response.error !== undefined) {
      if (response.error.code === "OFFSET_OUT_OF_RANGE") {
        const from = state.position;
        state.position = await this.resetPosition(state.tp);
        this.onPositionReset?.({ ...state.tp, from, to: state.position });
        return undefined;
      }
      throw new TributaryError(response.error.code as never, response.error.message);
    }
    const { records, next } = fetchedRecords(
      response,
      state.position,
      this.service.verifiedReads === true,
      this.isolation,
    );
    state.position = next;
    return {
      topic: response.topic,
      partition: response.partition,
      records,
      highWatermark: response.highWatermark,
    };
  }

  private async resolvePositions(states: PartitionState[]): Promise<void> {
    const missing = states.filter((s) => s.position === undefined);
    if (missing.length === 0) return;
    if (this.groupId !== undefined) {
      const topics = [...new Set(missing.map((s) => s.tp.topic))];
      const committed = await this.service.fetchOffsets(
        this.groupId,
        topics,
        this.isolation === "read_committed",
      );
      for (const c of committed) {
        const s = this.partitions.get(topicPartitionKey(c.topic, c.partition));
        if (s !== undefined && s.position === undefined) s.position = c.offset;
      }
    }
    for (const s of missing) {
      if (s.position === undefined) s.position = await this.resetPosition(s.tp);
    }
  }

  private async resetPosition(tp: TopicPartition): Promise<number> {
    if (this.autoOffsetReset === "none") {
      throw new InvalidArgumentError(
        `no committed offset for ${tp.topic}-${tp.partition} and autoOffsetReset is "none": seek() first`,
      );
    }
    const offsets = await this.service.listOffsets(tp.topic, this.autoOffsetReset, this.isolation);
    const found = offsets.find((o) => o.partition === tp.partition);
    if (found === undefined)
      throw new InvalidArgumentError(`no partition ${tp.partition} in ${tp.topic}`);
    return found.offset;
  }

  /** Revoke everything, join, take the new assignment (see the class comment). */
  private async rejoin(): Promise<void> {
    const owned = this.assignment();
    if (owned.length > 0) await this.listener.onPartitionsRevoked?.(owned);
    this.partitions.clear();
    this.prefetched = undefined;
    this.stopHeartbeat();
    const response = await this.service.joinGroup({
      groupId: this.groupId!,
      memberId: this.memberId,
      clientId: this.clientId,
      topics: this.subscription,
      sessionTimeoutMs: this.sessionTimeoutMs,
      rebalanceTimeoutMs: this.rebalanceTimeoutMs,
      assignor: this.assignor,
      owned,
      ...(this.groupInstanceId === undefined ? {} : { groupInstanceId: this.groupInstanceId }),
    });
    this.memberId = response.memberId;
    this.generation = response.generation;
    this.needsJoin = false;
    for (const tp of response.assignment) {
      this.partitions.set(topicPartitionKey(tp.topic, tp.partition), {
        tp,
        position: undefined,
        paused: false,
      });
    }
    this.startHeartbeat();
    await this.listener.onPartitionsAssigned?.(this.assignment());
  }

  private startHeartbeat(): void {
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private async heartbeat(): Promise<void> {
    // A member whose rejoin is pending keeps heartbeating until its poll sends the join:
    // the rebalance waits for it up to its rebalance timeout, as Kafka's Java client's
    // heartbeat thread keeps a busy member in the group. One whose session is gone (lost,
    // or no member id yet) has nothing to keep alive.
    if (this.closed || this.lost || this.memberId === "" || this.groupId === undefined) return;
    if (!this.polling && Date.now() - this.lastPollAt > this.maxPollIntervalMs) {
      await this.leaveAfterPollTimeout();
      return;
    }
    // A reply that comes back after a rejoin speaks of the old membership: ignore it.
    const memberId = this.memberId;
    const generation = this.generation;
    const stale = () => memberId !== this.memberId || generation !== this.generation;
    try {
      const r = await this.service.heartbeat({ groupId: this.groupId, memberId, generation });
      if (!stale() && r.rebalance) this.needsJoin = true;
    } catch (err) {
      if (stale()) return;
      if (err instanceof TributaryError) {
        if (err.code === "UNKNOWN_MEMBER" || err.code === "ILLEGAL_GENERATION") {
          // Our session expired: the partitions are someone else's now. The next poll
          // reports them lost and rejoins.
          if (err.code === "UNKNOWN_MEMBER") this.memberId = "";
          this.lost = true;
          this.needsJoin = true;
          return;
        }
        if (err.retriable || err.code === "CONNECTION" || err.code === "TIMEOUT") return;
      }
      // Anything else surfaces on the next poll as a rejoin.
      this.needsJoin = true;
    }
  }

  /**
   * Kafka's max.poll.interval.ms: an application that stopped polling (stuck, or one batch
   * taking longer than allowed) keeps heartbeating, so the group would wait on it forever.
   * It leaves instead, so its partitions move; its next poll reports them lost (its
   * commits would be refused) and rejoins with a new member id.
   */
  private async leaveAfterPollTimeout(): Promise<void> {
    const memberId = this.memberId;
    this.stopHeartbeat();
    this.memberId = "";
    this.lost = true;
    this.needsJoin = true;
    try {
      await this.service.leaveGroup({ groupId: this.groupId!, memberId });
    } catch {
      // The session timeout removes the member if the leave did not arrive.
    }
  }

  seek(partition: TopicPartition, offset: number): void {
    const s = this.state(partition);
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new InvalidArgumentError(`seek to ${offset}: an offset is a non-negative integer`);
    }
    s.position = offset;
  }

  position(partition: TopicPartition): number | undefined {
    return this.partitions.get(topicPartitionKey(partition.topic, partition.partition))?.position;
  }

  pause(partitions: TopicPartition[]): void {
    for (const p of partitions) this.state(p).paused = true;
  }

  resume(partitions: TopicPartition[]): void {
    for (const p of partitions) this.state(p).paused = false;
  }

  async commit(offsets?: CommittedOffset[]): Promise<void> {
    this.checkOpen();
    if (this.groupId === undefined) {
      throw new InvalidArgumentError("commit needs a consumer with a groupId");
    }
    const toCommit =
      offsets ??
      [...this.partitions.values()]
        .filter((s) => s.position !== undefined)
        .map((s) => ({ topic: s.tp.topic, partition: s.tp.partition, offset: s.position! }));
    if (toCommit.length === 0) return;
    await this.service.commitOffsets({
      groupId: this.groupId,
      memberId: this.memberId,
      generation: this.generation,
      offsets: toCommit,
    });
  }

  async committed(partitions: TopicPartition[]): Promise<CommittedOffset[]> {
    if (this.groupId === undefined) return [];
    const topics = [...new Set(partitions.map((p) => p.topic))];
    const wanted = new Set(partitions.map((p) => topicPartitionKey(p.topic, p.partition)));
    const all = await this.service.fetchOffsets(this.groupId, topics);
    return all.filter((c) => wanted.has(topicPartitionKey(c.topic, c.partition)));
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.prefetched = undefined;
    this.stopHeartbeat();
    if (this.groupId !== undefined && this.memberId !== "") {
      const owned = this.assignment();
      // Still open here: the listener's last commit of its partitions must go through.
      if (owned.length > 0) await this.listener.onPartitionsRevoked?.(owned);
      this.closed = true;
      try {
        await this.service.leaveGroup({ groupId: this.groupId, memberId: this.memberId });
      } catch {
        // Leaving is a courtesy: the session timeout removes the member anyway.
      }
    }
    this.closed = true;
    this.partitions.clear();
  }

  private state(partition: TopicPartition): PartitionState {
    const s = this.partitions.get(topicPartitionKey(partition.topic, partition.partition));
    if (s === undefined) {
      throw new InvalidArgumentError(
        `${partition.topic}-${partition.partition} is not assigned to this consumer`,
      );
    }
    return s;
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError("consumer");
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
