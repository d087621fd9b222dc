import {
  Admin,
  type Broker,
  type ClusterMetadata,
  type Connection,
  ConnectionPool,
  kGetApi,
} from "@platformatic/kafka";
import {
  InvalidArgumentError,
  retryWithBackoff,
  UnknownTopicError,
  validateTopicName,
} from "@tributary/log";
import { fromKafkaError, kafkaErrorId } from "./errors.js";
import { KafkaSecurity, type KafkaSaslOptions, type KafkaTlsOptions } from "./kafka-security.js";

export interface KafkaLogOptions {
  /**
   * Bootstrap brokers: "host:port" strings, or one comma-separated string. Written
   * `tls://host:port` (all of them), the connections use TLS.
   */
  brokers: string | readonly string[];
  clientId?: string;
  /**
   * Prefixes every topic and group name with `<namespace>.` on the cluster and shows only
   * that namespace's topics and groups. For sharing one cluster between environments (and
   * between test cases, since Kafka deletes topics asynchronously). Default: none.
   */
  namespace?: string;
  /** Per-request timeout. Default 30 s. */
  requestTimeoutMs?: number;
  /**
   * SASL login (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512). Default: from the environment or
   * client config file, as every Tributary client (TRIBUTARY_USER, TRIBUTARY_PASSWORD,
   * TRIBUTARY_SASL_MECHANISM, TRIBUTARY_CLIENT_CONFIG; docs/security.md); `false`: none.
   */
  sasl?: KafkaSaslOptions | false;
  /**
   * TLS: `true` (the system's CAs) or a CA, client certificate and server name. Default:
   * on when the brokers are written tls://, with files from the environment or client
   * config (TRIBUTARY_TLS_CA, TRIBUTARY_TLS_CERT, TRIBUTARY_TLS_KEY, TRIBUTARY_TLS_SERVERNAME;
   * any of them turns TLS on); `false`: none.
   */
  tls?: KafkaTlsOptions | boolean;
}

/** What the client needs to know of one topic, from the cluster's metadata. */
export interface TopicInfo {
  /** The topic's name on the cluster (namespace included). */
  wireName: string;
  id: string;
  partitions: number;
  /** Leader node id per partition. */
  leaders: number[];
  leaderEpochs: number[];
}

type RawApi = (connection: Connection, ...args: unknown[]) => Promise<unknown>;

/**
 * The one connection to a Kafka cluster that a KafkaLog's admin, producers and consumers
 * share. Responsible for: the cluster metadata (topics, partition leaders), connections to
 * nodes and group coordinators, calling a Kafka API at the version the broker supports,
 * and the namespace (names on the wire vs. names the application sees).
 *
 * It wraps @platformatic/kafka's Admin client, whose connection pool negotiates API
 * versions; group membership and fetching go through the raw APIs so that Tributary keeps
 * Kafka's poll semantics (see kafka-consumer.ts).
 */
export class KafkaCluster {
  readonly client: Admin;
  readonly clientId: string;
  /** The bootstrap list, for the Kafka clients (producers) opened beside this one. */
  readonly brokers: string[];
  /** How every connection logs in and encrypts, shared with the producers. */
  readonly security: KafkaSecurity;
  private readonly prefix: string;
  private readonly coordinators = new Map<string, number>();
  private readonly timeoutMs: number;

  constructor(options: KafkaLogOptions) {
    const { brokers, tls } = parseBootstrap(options.brokers);
    this.brokers = brokers;
    this.security = new KafkaSecurity(options.sasl, options.tls, tls);
    this.clientId = options.clientId ?? "tributary";
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    if (options.namespace !== undefined && options.namespace !== "") {
      validateTopicName(options.namespace);
      this.prefix = `${options.namespace}.`;
    } else {
      this.prefix = "";
    }
    this.client = new Admin({
      clientId: this.clientId,
      bootstrapBrokers: brokers,
      timeout: this.timeoutMs,
      retries: 3,
      retryDelay: 100,
      // Tributary creates topics explicitly: a metadata request must never create one.
      autocreateTopics: false,
      ...this.security.connectionOptions(),
    });
  }

  /** The topic or group name on the cluster. */
  wire(name: string): string {
    return this.prefix + name;
  }

  /** The name the application sees, or undefined for a name outside the namespace. */
  local(wireName: string): string | undefined {
    if (this.prefix === "") return wireName;
    return wireName.startsWith(this.prefix) ? wireName.slice(this.prefix.length) : undefined;
  }

  /** Checks the application's name and that the namespaced name still fits Kafka's rules. */
  checkTopicName(name: string): void {
    validateTopicName(name);
    if (this.prefix !== "") validateTopicName(this.wire(name));
  }

  /** Metadata for `topics` (application names); UnknownTopicError names a missing one. */
  async topics(topics: readonly string[], fresh = false): Promise<Map<string, TopicInfo>> {
    const wire = topics.map((t) => this.wire(t));
    let metadata: ClusterMetadata;
    try {
      metadata = await this.client.metadata({ topics: wire, forceUpdate: fresh });
    } catch (err) {
      const missing = /Unknown topic ([^\s]+?)\.?$/.exec((err as Error).message ?? "");
      const name = missing ? (this.local(missing[1]!) ?? missing[1]!) : topics.join(", ");
      throw fromKafkaError(err, `metadata for ${topics.join(", ")}`, name);
    }
    const out = new Map<string, TopicInfo>();
    for (const name of topics) {
      const t = metadata.topics.get(this.wire(name));
      if (t === undefined) throw new UnknownTopicError(name);
      out.set(name, {
        wireName: this.wire(name),
        id: t.id,
        partitions: t.partitionsCount,
        leaders: t.partitions.map((p) => p.leader),
        leaderEpochs: t.partitions.map((p) => p.leaderEpoch),
      });
    }
    return out;
  }

  async topic(name: string, fresh = false): Promise<TopicInfo> {
    return (await this.topics([name], fresh)).get(name)!;
  }

  /** Metadata of one topic by its name on the wire (as group members subscribe). */
  async topicOnWire(wireName: string): Promise<TopicInfo> {
    const local = this.local(wireName);
    if (local === undefined) throw new UnknownTopicError(wireName);
    return this.topic(local);
  }

  /** Forgets cached metadata, after a leader moved or a topic was created or deleted. */
  invalidate(): void {
    this.client.clearMetadata();
  }

  /** The API `name` at the highest version both the broker and the client speak. */
  async api<T>(name: string): Promise<(connection: Connection, ...args: unknown[]) => Promise<T>> {
    const api = await this.negotiated(name);
    return api.async as (connection: Connection, ...args: unknown[]) => Promise<T>;
  }

  /** The version of API `name` that api(name) speaks. */
  async apiVersion(name: string): Promise<number> {
    return (await this.negotiated(name)).version;
  }

  private negotiated(name: string): Promise<{ async: RawApi; version: number }> {
    return new Promise((resolve, reject) => {
      // biome-ignore lint/suspicious/noExplicitAny: the client types this symbol loosely
      (this.client as any)[kGetApi](
        name,
        (err: Error | null, found: { async: RawApi; version: number }) =>
          err ? reject(err) : resolve(found),
      );
    });
  }

  /**
   * A pool of connections of its own. A Kafka broker answers one connection's requests in
   * order, so a request the broker parks (a long-poll Fetch, a JoinGroup waiting for the
   * other members) holds up everything behind it: each consumer fetches and runs its group
   * protocol on connections no one else uses.
   */
  newPool(longestWaitMs = 0, clientId = this.clientId): ConnectionPool {
    return new ConnectionPool(clientId, {
      connectTimeout: this.timeoutMs,
      requestTimeout: this.timeoutMs + longestWaitMs,
      ...this.security.connectionOptions(),
    });
  }

  /** A connection to node `nodeId` (a partition leader or a coordinator). */
  async node(nodeId: number, pool: ConnectionPool = this.client.connections): Promise<Connection> {
    return pool.get(await this.broker(nodeId));
  }

  /** A connection to any node, for requests every node answers (InitProducerId without a transactional id). */
  async anyNode(pool: ConnectionPool = this.client.connections): Promise<Connection> {
    const metadata =
      this.client.currentMetadata ??
      (await this.client.metadata({ topics: [], forceUpdate: true }));
    const first = metadata.brokers.keys().next();
    if (first.done === true)
      throw new InvalidArgumentError("the Kafka cluster metadata lists no nodes");
    return this.node(first.value, pool);
  }

  private async broker(nodeId: number): Promise<Broker> {
    let metadata = this.client.currentMetadata;
    if (metadata === undefined || !metadata.brokers.has(nodeId)) {
      metadata = await this.client.metadata({ topics: [], forceUpdate: true });
    }
    const broker = metadata.brokers.get(nodeId);
    if (broker === undefined) {
      throw new InvalidArgumentError(`Kafka node ${nodeId} is not in the cluster metadata`);
    }
    return broker;
  }

  /**
   * Calls a group API on the group's coordinator (group id on the wire), finding it first
   * and again when the coordinator moved (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE).
   */
  async onCoordinator<T>(
    wireGroupId: string,
    call: (connection: Connection) => Promise<T>,
    pool: ConnectionPool = this.client.connections,
  ): Promise<T> {
    return this.onCoordinatorOf(0, wireGroupId, call, pool);
  }

  /** `call` on the transaction coordinator of `transactionalId` (wire name), as onCoordinator. */
  async onTransactionCoordinator<T>(
    transactionalId: string,
    call: (connection: Connection) => Promise<T>,
  ): Promise<T> {
    return this.onCoordinatorOf(1, transactionalId, call, this.client.connections);
  }

  /** FindCoordinator's key types: 0 a group, 1 a transactional id. */
  private async onCoordinatorOf<T>(
    keyType: 0 | 1,
    key: string,
    call: (connection: Connection) => Promise<T>,
    pool: ConnectionPool,
  ): Promise<T> {
    const cacheKey = `${keyType}:${key}`;
    return retryWithBackoff(
      async () => {
        let nodeId = this.coordinators.get(cacheKey);
        if (nodeId === undefined) {
          const found = await this.client.findCoordinator({ keyType, keys: [key] });
          nodeId = found[0]!.nodeId;
          this.coordinators.set(cacheKey, nodeId);
        }
        return call(await this.node(nodeId, pool));
      },
      {
        retryIf: (err) => {
          const id = kafkaErrorId(err);
          return (
            id === "NOT_COORDINATOR" ||
            id === "COORDINATOR_NOT_AVAILABLE" ||
            id === "COORDINATOR_LOAD_IN_PROGRESS"
          );
        },
        onRetry: () => this.coordinators.delete(cacheKey),
        initialDelayMs: 100,
        maxDelayMs: 1000,
        maxRetries: 10,
      },
    );
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

export function parseBrokers(brokers: string | readonly string[]): string[] {
  return parseBootstrap(brokers).brokers;
}

/** The bootstrap list without `tls://`, and whether it asked for TLS (all or none may). */
export function parseBootstrap(brokers: string | readonly string[]): {
  brokers: string[];
  tls: boolean;
} {
  const raw = (typeof brokers === "string" ? brokers.split(",") : [...brokers])
    .map((b) => b.trim())
    .filter((b) => b !== "");
  const withTls = raw.filter((b) => b.startsWith("tls://")).length;
  if (withTls > 0 && withTls < raw.length) {
    throw new InvalidArgumentError(
      `Kafka brokers '${raw.join(",")}': some are tls:// and some not; write tls:// on all or none`,
    );
  }
  const list = raw.map((b) => (b.startsWith("tls://") ? b.slice("tls://".length) : b));
  if (list.length === 0) {
    throw new InvalidArgumentError("no Kafka brokers given: pass host:port[,host:port...]");
  }
  for (const b of list) {
    if (!/^[^\s:]+:\d{1,5}$/.test(b) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(b)) {
      throw new InvalidArgumentError(`Kafka broker address '${b}' is not host:port`);
    }
  }
  return { brokers: list, tls: withTls > 0 };
}
