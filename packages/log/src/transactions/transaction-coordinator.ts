import { InvalidArgumentError, ProducerFencedError, TransactionError } from "../errors.js";
import type { LogRecord, ProducerRecord, TopicPartition } from "../record.js";
import type { CommittedOffset } from "../client/log-client.js";
import {
  decodeTransactionKey,
  decodeTransactionValue,
  encodeTransactionKey,
  encodeTransactionValue,
  type TransactionMetadata,
  type TxnOffset,
} from "./transaction-record.js";

/**
 * The transaction state topic (`__transaction_state`), as the coordinator sees it: records
 * come back from `readAll` in the order `append` wrote them; `append` resolves once they
 * are durable (the topic flushes every write).
 */
export interface TransactionJournal {
  append(records: ProducerRecord[]): Promise<void>;
  readAll(): Iterable<LogRecord>;
}

/**
 * Writes a transaction's outcome where it took effect: a COMMIT or ABORT control batch for
 * `producerId`/`producerEpoch` on every partition, and the group offsets committed inside
 * the transaction made visible (commit) or dropped (abort). Called again with the same
 * arguments after a crash or a failure, so it must be idempotent: a second marker for the
 * same transaction is harmless to readers, as in Kafka.
 */
export interface TransactionMarkers {
  write(
    producerId: number,
    producerEpoch: number,
    commit: boolean,
    partitions: readonly TopicPartition[],
    groups: readonly string[],
    offsets: readonly TxnOffset[],
  ): Promise<void>;
}

export interface TransactionCoordinatorOptions {
  journal: TransactionJournal;
  markers: TransactionMarkers;
  /** A producer id never handed out before (survives restarts). */
  allocateProducerId(): Promise<number>;
  /** Kafka's transaction.max.timeout.ms: the largest timeout a producer may ask for. Default 15 min. */
  maxTimeoutMs?: number;
  now?: () => number;
}

/** The epoch a producer id can reach before the coordinator gives the id a new one. */
const MAX_EPOCH = 32_767;
const MAX_TRANSACTIONAL_ID_LENGTH = 249;

/**
 * Kafka's transaction coordinator for one log: it owns every transactional id's state,
 * journalled in `__transaction_state`, and drives each transaction to its end:
 *
 *   Empty ──add partitions/groups──▶ Ongoing ──end(commit)──▶ PrepareCommit ──markers──▶ CompleteCommit
 *     ▲                                │  └────end(abort), timeout, fencing──▶ PrepareAbort ──markers──▶ CompleteAbort
 *     └──────── the next add starts a new transaction from either Complete state ◀─────────────────┘
 *
 * - `initProducerId` gives a transactional id its producer id and a new epoch, and so
 *   fences every older instance: their requests carry an older epoch and get
 *   PRODUCER_FENCED, here and (through the markers, written with the newer epoch) at every
 *   partition they wrote. A transaction the old instance left open is aborted first.
 * - A decision is journalled (Prepare*) before any marker is written, and the end
 *   (Complete*) after all of them: a coordinator that crashes between the two finds the
 *   Prepare* state when it opens and writes the markers again. So once `endTransaction`
 *   has returned, the outcome survives anything.
 * - A transaction open longer than its timeout is aborted by `abortTimedOut` (the owner
 *   calls it on a timer) with the epoch bumped, so the hung producer cannot commit later.
 * Requests for one transactional id run one at a time, in arrival order.
 */
export class TransactionCoordinator {
  private readonly state = new Map<string, TransactionMetadata>();
  /** Which transactional id holds each producer id (for verifyPartition). */
  private readonly byProducerId = new Map<number, string>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly now: () => number;
  private readonly maxTimeoutMs: number;

  private constructor(private readonly options: TransactionCoordinatorOptions) {
    this.now = options.now ?? Date.now;
    this.maxTimeoutMs = options.maxTimeoutMs ?? 15 * 60_000;
  }

  /**
   * Reads the journal and finishes every transaction that was decided but not completed
   * (its markers are written again). Transactions still open stay open: their timeout
   * aborts them unless their producer comes back first.
   */
  static async open(options: TransactionCoordinatorOptions): Promise<TransactionCoordinator> {
    const c = new TransactionCoordinator(options);
    for (const r of options.journal.readAll()) {
      if (r.key === null) continue;
      const id = decodeTransactionKey(r.key);
      if (r.value === null) c.state.delete(id);
      else c.state.set(id, decodeTransactionValue(id, r.value));
    }
    for (const m of c.state.values()) c.byProducerId.set(m.producerId, m.transactionalId);
    for (const m of [...c.state.values()]) {
      if (m.status === "PrepareCommit" || m.status === "PrepareAbort") {
        await c.serialized(m.transactionalId, () => c.complete(m));
      }
    }
    return c;
  }

  /** The state of one transactional id (a copy), or undefined. */
  describe(transactionalId: string): TransactionMetadata | undefined {
    const m = this.state.get(transactionalId);
    return m === undefined ? undefined : clone(m);
  }

  /** Every transactional id's state (copies), for tools and metrics. */
  list(): TransactionMetadata[] {
    return [...this.state.values()].map(clone);
  }

  /**
   * A producer with this transactional id starts (or restarts): returns its producer id
   * and a new epoch, fencing every older instance, after aborting what one left open.
   */
  async initProducerId(
    transactionalId: string,
    timeoutMs: number,
  ): Promise<{ producerId: number; producerEpoch: number }> {
    validateTransactionalId(transactionalId);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > this.maxTimeoutMs) {
      throw new InvalidArgumentError(
        `transaction timeout ${timeoutMs} ms for '${transactionalId}': expected 1 to ${this.maxTimeoutMs} ms (transaction.max.timeout.ms)`,
      );
    }
    return this.serialized(transactionalId, async () => {
      let m = this.state.get(transactionalId);
      if (m === undefined) {
        m = {
          transactionalId,
          producerId: await this.options.allocateProducerId(),
          producerEpoch: 0,
          ...noTransaction(timeoutMs),
          updatedAt: this.now(),
        };
      } else {
        if (m.status === "Ongoing") await this.abortFenced(m);
        else if (m.status === "PrepareCommit" || m.status === "PrepareAbort") {
          await this.complete(m);
        }
        m = this.state.get(transactionalId)!;
        m = { ...m, ...noTransaction(timeoutMs) };
        if (m.producerEpoch >= MAX_EPOCH) {
          m.producerId = await this.options.allocateProducerId();
          m.producerEpoch = 0;
        } else m.producerEpoch++;
        m.updatedAt = this.now();
      }
      await this.persist(m);
      return { producerId: m.producerId, producerEpoch: m.producerEpoch };
    });
  }

  /** Records that the current transaction writes these partitions (starting it if none is open). */
  addPartitions(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partitions: readonly TopicPartition[],
  ): Promise<void> {
    return this.serialized(transactionalId, async () => {
      const m = this.begin(this.checkProducer(transactionalId, producerId, producerEpoch));
      const known = new Set(m.partitions.map((tp) => `${tp.topic}\0${tp.partition}`));
      let changed = m.status !== "Ongoing";
      const next = { ...m, status: "Ongoing" as const, partitions: [...m.partitions] };
      for (const tp of partitions) {
        const key = `${tp.topic}\0${tp.partition}`;
        if (known.has(key)) continue;
        known.add(key);
        next.partitions.push({ topic: tp.topic, partition: tp.partition });
        changed = true;
      }
      if (changed) await this.persist({ ...next, updatedAt: this.now() });
    });
  }

  /** Records that the current transaction commits offsets of this group (sendOffsets). */
  addGroup(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    groupId: string,
  ): Promise<void> {
    return this.serialized(transactionalId, async () => {
      const m = this.begin(this.checkProducer(transactionalId, producerId, producerEpoch));
      if (m.status === "Ongoing" && m.groups.includes(groupId)) return;
      const groups = m.groups.includes(groupId) ? m.groups : [...m.groups, groupId];
      await this.persist({ ...m, status: "Ongoing", groups, updatedAt: this.now() });
    });
  }

  /**
   * Keeps group offsets with the current transaction (sendOffsets): the newest per group
   * and partition, committed to the group by the COMMIT's markers, dropped by an abort.
   * The caller has checked the group's generation.
   */
  addOffsets(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    groupId: string,
    offsets: readonly CommittedOffset[],
  ): Promise<void> {
    return this.serialized(transactionalId, async () => {
      const m = this.begin(this.checkProducer(transactionalId, producerId, producerEpoch));
      const byKey = new Map<string, TxnOffset>();
      for (const o of m.offsets) byKey.set(`${o.groupId}\0${o.topic}\0${o.partition}`, o);
      for (const o of offsets) {
        byKey.set(`${groupId}\0${o.topic}\0${o.partition}`, {
          groupId,
          topic: o.topic,
          partition: o.partition,
          offset: o.offset,
          ...(o.metadata === undefined ? {} : { metadata: o.metadata }),
        });
      }
      const groups = m.groups.includes(groupId) ? m.groups : [...m.groups, groupId];
      await this.persist({
        ...m,
        status: "Ongoing",
        groups,
        offsets: [...byKey.values()],
        updatedAt: this.now(),
      });
    });
  }

  /**
   * Checks, before a transactional batch of `producerId` at `producerEpoch` is appended to
   * `tp`, that it belongs to an open transaction that added that partition (Kafka's
   * KIP-890 verification): otherwise the batch would open a transaction on the partition
   * that no coordinator would ever end, holding back every read_committed reader.
   */
  verifyPartition(producerId: number, producerEpoch: number, tp: TopicPartition): void {
    const transactionalId = this.byProducerId.get(producerId);
    const m = transactionalId === undefined ? undefined : this.state.get(transactionalId);
    if (m === undefined || m.producerId !== producerId) {
      throw new TransactionError(
        "INVALID_PRODUCER_ID_MAPPING",
        `transactional batch for ${tp.topic}-${tp.partition} from producer ${producerId}, which no transactional id holds: call initTransactions() first`,
      );
    }
    if (producerEpoch < m.producerEpoch) {
      throw new ProducerFencedError(
        `producer ${producerId} of '${m.transactionalId}' at epoch ${producerEpoch} was fenced by epoch ${m.producerEpoch} (a newer instance started, or its transaction timed out): stop this producer`,
      );
    }
    const added = m.partitions.some((p) => p.topic === tp.topic && p.partition === tp.partition);
    if (m.status !== "Ongoing" || producerEpoch !== m.producerEpoch || !added) {
      throw new TransactionError(
        "INVALID_TXN_STATE",
        `transactional batch for ${tp.topic}-${tp.partition} from '${m.transactionalId}' outside an open transaction that added this partition (${m.status}): begin a transaction, and send through the transactional producer`,
      );
    }
  }

  /**
   * Commits or aborts the open transaction: the decision is journalled, then the markers
   * are written, then the end. A retry of an end that already completed with the same
   * decision succeeds again; ending with nothing open is a no-op.
   */
  endTransaction(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    commit: boolean,
  ): Promise<void> {
    return this.serialized(transactionalId, async () => {
      const m = this.checkProducer(transactionalId, producerId, producerEpoch);
      const wanted = commit ? "Commit" : "Abort";
      switch (m.status) {
        case "Empty":
          return;
        case "Ongoing":
          await this.decide(m, commit);
          return;
        case "PrepareCommit":
        case "PrepareAbort":
        case "CompleteCommit":
        case "CompleteAbort": {
          if (!m.status.endsWith(wanted)) {
            throw new TransactionError(
              "INVALID_TXN_STATE",
              `cannot ${commit ? "commit" : "abort"} the transaction of '${transactionalId}': it was already decided (${m.status}); begin a new one`,
            );
          }
          // A retry whose first attempt journalled the decision: finish the markers.
          if (m.status.startsWith("Prepare")) await this.complete(m);
          return;
        }
      }
    });
  }

  /**
   * Aborts every transaction open longer than its timeout, bumping its epoch so the hung
   * producer is fenced. Returns the transactional ids aborted (for the owner's log).
   */
  async abortTimedOut(): Promise<string[]> {
    const now = this.now();
    const expired = [...this.state.values()].filter(
      (m) => m.status === "Ongoing" && m.startedAt + m.timeoutMs <= now,
    );
    const aborted: string[] = [];
    for (const m of expired) {
      await this.serialized(m.transactionalId, async () => {
        const current = this.state.get(m.transactionalId);
        if (current?.status !== "Ongoing" || current.startedAt + current.timeoutMs > this.now()) {
          return;
        }
        await this.abortFenced(current);
        aborted.push(m.transactionalId);
      });
    }
    return aborted;
  }

  /**
   * Forgets transactional ids idle (no open transaction, no request) for `expirationMs`
   * (Kafka's transactional.id.expiration.ms, 7 days by default) with a tombstone each.
   */
  async expireIdle(expirationMs: number): Promise<string[]> {
    const now = this.now();
    const idle = [...this.state.values()].filter(
      (m) =>
        (m.status === "Empty" || m.status.startsWith("Complete")) &&
        m.updatedAt + expirationMs <= now,
    );
    const expired: string[] = [];
    for (const m of idle) {
      await this.serialized(m.transactionalId, async () => {
        const current = this.state.get(m.transactionalId);
        if (current === undefined || current.updatedAt + expirationMs > this.now()) return;
        if (current.status === "Ongoing" || current.status.startsWith("Prepare")) return;
        await this.options.journal.append([
          { key: encodeTransactionKey(m.transactionalId), value: null },
        ]);
        this.state.delete(m.transactionalId);
        this.byProducerId.delete(m.producerId);
        expired.push(m.transactionalId);
      });
    }
    return expired;
  }

  /** Aborts `m`'s open transaction with its epoch bumped (the markers fence the old epoch). */
  private async abortFenced(m: TransactionMetadata): Promise<void> {
    const bumped = { ...m, producerEpoch: m.producerEpoch + 1 };
    await this.decide(bumped, false);
  }

  private async decide(m: TransactionMetadata, commit: boolean): Promise<void> {
    const prepared: TransactionMetadata = {
      ...m,
      status: commit ? "PrepareCommit" : "PrepareAbort",
      updatedAt: this.now(),
    };
    await this.persist(prepared);
    await this.complete(prepared);
  }

  /** Writes the markers of a decided transaction, then journals its end. */
  private async complete(m: TransactionMetadata): Promise<void> {
    const commit = m.status === "PrepareCommit";
    await this.options.markers.write(
      m.producerId,
      m.producerEpoch,
      commit,
      m.partitions,
      m.groups,
      m.offsets,
    );
    await this.persist({
      ...m,
      status: commit ? "CompleteCommit" : "CompleteAbort",
      startedAt: 0,
      updatedAt: this.now(),
    });
  }

  /** A request's producer must be the id's current one, at its current epoch. */
  private checkProducer(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
  ): TransactionMetadata {
    const m = this.state.get(transactionalId);
    if (m === undefined || m.producerId !== producerId) {
      throw new TransactionError(
        "INVALID_PRODUCER_ID_MAPPING",
        `transactional id '${transactionalId}' does not belong to producer ${producerId}${m === undefined ? " (it is unknown or expired)" : ""}: call initTransactions() first`,
      );
    }
    if (producerEpoch < m.producerEpoch) {
      throw new ProducerFencedError(
        `producer ${producerId} of '${transactionalId}' at epoch ${producerEpoch} was fenced by epoch ${m.producerEpoch} (a newer instance started, or its transaction timed out): stop this producer`,
      );
    }
    if (producerEpoch > m.producerEpoch) {
      throw new TransactionError(
        "INVALID_PRODUCER_ID_MAPPING",
        `producer ${producerId} of '${transactionalId}' claims epoch ${producerEpoch}, newer than the coordinator's ${m.producerEpoch}`,
      );
    }
    return m;
  }

  /** From an ended (or empty) transaction, a new one begins with no partitions or groups. */
  private begin(m: TransactionMetadata): TransactionMetadata {
    if (m.status === "PrepareCommit" || m.status === "PrepareAbort") {
      throw new TransactionError(
        "CONCURRENT_TRANSACTIONS",
        `the last transaction of '${m.transactionalId}' is still writing its markers: retry`,
      );
    }
    if (m.status === "Ongoing") return m;
    return { ...m, partitions: [], groups: [], offsets: [], startedAt: this.now() };
  }

  private async persist(m: TransactionMetadata): Promise<void> {
    await this.options.journal.append([
      { key: encodeTransactionKey(m.transactionalId), value: encodeTransactionValue(m) },
    ]);
    this.state.set(m.transactionalId, m);
    this.byProducerId.set(m.producerId, m.transactionalId);
  }

  private serialized<T>(transactionalId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(transactionalId) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.catch(() => {});
    this.queues.set(transactionalId, tail);
    void tail.then(() => {
      if (this.queues.get(transactionalId) === tail) this.queues.delete(transactionalId);
    });
    return run;
  }
}

export function validateTransactionalId(id: string): void {
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_TRANSACTIONAL_ID_LENGTH) {
    throw new InvalidArgumentError(
      `transactional id '${String(id).slice(0, 40)}' must be 1 to ${MAX_TRANSACTIONAL_ID_LENGTH} characters`,
    );
  }
}

function clone(m: TransactionMetadata): TransactionMetadata {
  return {
    ...m,
    partitions: m.partitions.map((tp) => ({ ...tp })),
    groups: [...m.groups],
    offsets: m.offsets.map((o) => ({ ...o })),
  };
}

/** A transactional id's fields with no transaction open: what an init starts from. */
function noTransaction(timeoutMs: number) {
  return {
    timeoutMs,
    status: "Empty" as const,
    partitions: [],
    groups: [],
    offsets: [],
    startedAt: 0,
  };
}
