import { ClosedError, ProtocolError, type TributaryError } from "../errors.js";
import type {
  CommittedOffset,
  CreateTopicOptions,
  GroupDescription,
  GroupOverview,
  OffsetResetPlanRow,
  OffsetResetSpec,
  OffsetSpec,
  PartitionOffset,
  TopicDescription,
} from "../client/log-client.js";
import type {
  FetchOptions,
  FetchRequest,
  FetchResponse,
  GroupMemberRef,
  HeartbeatResponse,
  JoinGroupRequest,
  InitTransactionRequest,
  JoinGroupResponse,
  LogService,
  ProduceAck,
  TxnOffsetCommitRequest,
  TxnProducerRef,
} from "../client/log-service.js";
import type { TopicPartition } from "../record.js";
import type { IsolationLevel } from "../client/isolation-level.js";
import { type BrokerAddress, formatBrokerAddress, parseBrokerAddress } from "./broker-address.js";
import { ClientConnection } from "./client-connection.js";
import { DEFAULT_MAX_FRAME_BYTES } from "./frame-codec.js";
import { ApiKey } from "./protocol.js";
import { retryWithBackoff } from "../retry-with-backoff.js";

export interface RemoteLogServiceOptions {
  /** The broker's token (contents of its --token-file), when it has one. */
  token?: string;
  /** Shown in the broker's connection logs. */
  clientId?: string;
  /** Log in as this user (SCRAM-SHA-256) on a broker started with --acls. */
  sasl?: { username: string; password: string };
  /** For tls:// addresses: the CA that signed the broker's certificate (PEM). */
  tlsCa?: string | Buffer;
  /** Largest frame sent or accepted; must fit the broker's. Default 64 MiB. */
  maxFrameBytes?: number;
  /** How long a request may wait for its answer (a fetch: its maxWaitMs plus this). Default 30 s. */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** First reconnect delay; doubles per failed attempt up to the max, with jitter. */
  reconnectBackoffMs?: number;
  reconnectBackoffMaxMs?: number;
}

/**
 * LogService over a broker connection, so `new ServiceLogClient(remote)` behaves like the
 * embedded log: the same calls, the same errors (rebuilt from their wire codes).
 *
 * Connection loss. The client reconnects by itself, with exponential backoff (doubling
 * from `reconnectBackoffMs`, capped at `reconnectBackoffMaxMs`, each delay jittered to
 * 50–100% so many clients of a restarted broker do not come back in lockstep). A request
 * made while disconnected waits for the reconnect (up to its timeout) and is sent then.
 * Requests in flight when the connection drops:
 * - reads (fetch, list, describe, fetchOffsets) are resent on the new connection;
 * - writes fail with a retriable ProtocolError("CONNECTION"), because whether the broker
 *   applied them is unknown. A produce retried after that may be stored twice: delivery is
 *   at-least-once, as with Kafka's producer without idempotence. Commits and group calls
 *   are safe to retry (they are fenced by generation).
 * A wrong token (AUTHENTICATION_FAILED) is not retried: every call fails with it.
 */
export class RemoteLogService implements LogService {
  private connection: ClientConnection | undefined;
  private waiters = new Set<{ resolve(c: ClientConnection): void; reject(e: Error): void }>();
  private fatal: TributaryError | undefined;
  private closed = false;
  private lastError: TributaryError | undefined;
  private readonly stopReconnecting = new AbortController();
  private readonly requestTimeoutMs: number;
  readonly address: BrokerAddress;

  private constructor(
    address: BrokerAddress,
    private readonly options: RemoteLogServiceOptions,
  ) {
    this.address = address;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /** Connects and handshakes once; fails at once if the broker is not there or refuses. */
  static async connect(
    address: string | BrokerAddress,
    options: RemoteLogServiceOptions = {},
  ): Promise<RemoteLogService> {
    const service = new RemoteLogService(parseBrokerAddress(address), options);
    service.adopt(await ClientConnection.open(service.address, service.connectionOptions()));
    return service;
  }

  createTopic(name: string, options: CreateTopicOptions): Promise<void> {
    return this.write(ApiKey.CreateTopic, { name, options }).then(() => undefined);
  }
  deleteTopic(name: string): Promise<void> {
    return this.write(ApiKey.DeleteTopic, { name }).then(() => undefined);
  }
  listTopics(includeInternal: boolean): Promise<string[]> {
    return this.read(ApiKey.ListTopics, { includeInternal }) as Promise<string[]>;
  }
  describeTopic(name: string): Promise<TopicDescription> {
    return this.read(ApiKey.DescribeTopic, { name }) as Promise<TopicDescription>;
  }
  partitionCount(topic: string): Promise<number> {
    return this.read(ApiKey.PartitionCount, { topic }) as Promise<number>;
  }
  listOffsets(
    topic: string,
    spec: OffsetSpec,
    isolation?: IsolationLevel,
  ): Promise<PartitionOffset[]> {
    // Sent only when set, so a broker of an earlier version still understands the request.
    const body = isolation === undefined ? { topic, spec } : { topic, spec, isolation };
    return this.read(ApiKey.ListOffsets, body) as Promise<PartitionOffset[]>;
  }
  initProducerId(
    transaction?: InitTransactionRequest,
  ): Promise<{ producerId: number; producerEpoch: number }> {
    // A transactional init is a write (it fences and may abort): not resent blindly.
    const body = transaction ?? {};
    const answer =
      transaction === undefined
        ? this.read(ApiKey.InitProducerId, body)
        : this.write(ApiKey.InitProducerId, body);
    return answer as Promise<{ producerId: number; producerEpoch: number }>;
  }
  addPartitionsToTxn(request: TxnProducerRef & { partitions: TopicPartition[] }): Promise<void> {
    return this.write(ApiKey.AddPartitionsToTxn, request).then(() => undefined);
  }
  txnOffsetCommit(request: TxnOffsetCommitRequest): Promise<void> {
    return this.write(ApiKey.TxnOffsetCommit, request).then(() => undefined);
  }
  endTxn(request: TxnProducerRef & { commit: boolean }): Promise<void> {
    return this.write(ApiKey.EndTxn, request).then(() => undefined);
  }
  produce(topic: string, partition: number, batch: Buffer): Promise<ProduceAck> {
    return this.write(ApiKey.Produce, { topic, partition, batch }) as Promise<ProduceAck>;
  }
  fetch(requests: FetchRequest[], options: FetchOptions): Promise<FetchResponse[]> {
    return this.read(
      ApiKey.Fetch,
      { requests, options },
      options.maxWaitMs + this.requestTimeoutMs,
    ) as Promise<FetchResponse[]>;
  }
  joinGroup(request: JoinGroupRequest): Promise<JoinGroupResponse> {
    // A join waits for the rebalance to complete, which may take the rebalance timeout.
    return this.write(
      ApiKey.JoinGroup,
      request,
      request.rebalanceTimeoutMs + this.requestTimeoutMs,
    ) as Promise<JoinGroupResponse>;
  }
  heartbeat(request: GroupMemberRef): Promise<HeartbeatResponse> {
    return this.write(ApiKey.Heartbeat, request) as Promise<HeartbeatResponse>;
  }
  leaveGroup(request: { groupId: string; memberId: string }): Promise<void> {
    return this.write(ApiKey.LeaveGroup, request).then(() => undefined);
  }
  commitOffsets(request: GroupMemberRef & { offsets: CommittedOffset[] }): Promise<void> {
    return this.write(ApiKey.CommitOffsets, request).then(() => undefined);
  }
  fetchOffsets(
    groupId: string,
    topics?: string[],
    requireStable?: boolean,
  ): Promise<CommittedOffset[]> {
    if (requireStable === true) {
      return this.read(ApiKey.FetchOffsets, { groupId, topics, requireStable }) as Promise<
        CommittedOffset[]
      >;
    }
    return this.read(ApiKey.FetchOffsets, { groupId, topics }) as Promise<CommittedOffset[]>;
  }
  listGroups(): Promise<GroupOverview[]> {
    return this.read(ApiKey.ListGroups, {}) as Promise<GroupOverview[]>;
  }
  describeGroup(groupId: string): Promise<GroupDescription> {
    return this.read(ApiKey.DescribeGroup, { groupId }) as Promise<GroupDescription>;
  }
  resetOffsets(
    groupId: string,
    spec: OffsetResetSpec,
    options: { topics?: string[]; dryRun?: boolean },
  ): Promise<OffsetResetPlanRow[]> {
    return this.write(ApiKey.ResetOffsets, { groupId, spec, options }) as Promise<
      OffsetResetPlanRow[]
    >;
  }
  deleteGroup(groupId: string): Promise<void> {
    return this.write(ApiKey.DeleteGroup, { groupId }).then(() => undefined);
  }

  /** Closes the connection; the broker keeps any group members until they leave or expire. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopReconnecting.abort();
    this.connection?.close();
    this.connection = undefined;
    const err = new ClosedError("broker client");
    for (const w of this.waiters) w.reject(err);
    this.waiters.clear();
  }

  /** A request that changes nothing: resent after a reconnect until its deadline. */
  private async read(apiKey: number, body: unknown, timeoutMs = this.requestTimeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const conn = await this.connected(deadline);
      try {
        return await conn.request(apiKey, body, Math.max(1, deadline - Date.now()));
      } catch (err) {
        const e = err as TributaryError;
        if (e.code !== "CONNECTION" || this.closed || Date.now() >= deadline) throw err;
      }
    }
  }

  private async write(apiKey: number, body: unknown, timeoutMs = this.requestTimeoutMs) {
    const deadline = Date.now() + timeoutMs;
    const conn = await this.connected(deadline);
    return conn.request(apiKey, body, Math.max(1, deadline - Date.now()));
  }

  private connected(deadline: number): Promise<ClientConnection> {
    if (this.closed) return Promise.reject(new ClosedError("broker client"));
    if (this.fatal !== undefined) return Promise.reject(this.fatal);
    const conn = this.connection;
    if (conn !== undefined && !conn.closed) return Promise.resolve(conn);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (c: ClientConnection) => {
          clearTimeout(timer);
          resolve(c);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(
        () => {
          this.waiters.delete(waiter);
          reject(
            new ProtocolError(
              "CONNECTION",
              `not connected to the broker at ${formatBrokerAddress(this.address)}${
                this.lastError === undefined ? "" : ` (${this.lastError.message})`
              }: still reconnecting`,
              { retriable: true },
            ),
          );
        },
        Math.max(1, deadline - Date.now()),
      );
      this.waiters.add(waiter);
    });
  }

  private adopt(conn: ClientConnection): void {
    this.connection = conn;
    this.lastError = undefined;
    for (const w of this.waiters) w.resolve(conn);
    this.waiters.clear();
    conn.onClose((err) => {
      if (this.connection !== conn || this.closed) return;
      this.connection = undefined;
      this.lastError = err;
      this.reconnect();
    });
  }

  /**
   * Reconnects in the background after the connection was lost: until it is back, the
   * client closes, or the broker refuses the credentials (then every call fails with that).
   */
  private reconnect(): void {
    retryWithBackoff(
      async () => {
        try {
          return await ClientConnection.open(this.address, this.connectionOptions());
        } catch (err) {
          this.lastError = err as TributaryError;
          throw err;
        }
      },
      {
        retryIf: (err) => !this.closed && (err as TributaryError).code !== "AUTHENTICATION_FAILED",
        initialDelayMs: this.options.reconnectBackoffMs ?? 50,
        maxDelayMs: this.options.reconnectBackoffMaxMs ?? 2000,
        jitter: true,
        delayFirst: true,
        signal: this.stopReconnecting.signal,
        // Reconnecting alone must not keep a process alive; waiting requests hold their own timers.
        ref: false,
      },
    ).then(
      (conn) => {
        if (this.closed) conn.close();
        else this.adopt(conn);
      },
      (err: TributaryError) => {
        if (this.closed) return;
        this.fatal = err;
        for (const w of this.waiters) w.reject(err);
        this.waiters.clear();
      },
    );
  }

  private connectionOptions() {
    return {
      token: this.options.token,
      clientId: this.options.clientId,
      sasl: this.options.sasl,
      tlsCa: this.options.tlsCa,
      maxFrameBytes: this.options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      connectTimeoutMs: this.options.connectTimeoutMs ?? 10_000,
    };
  }
}
