import type {
  BatchReader,
  BatchReaderOptions,
  Consumer,
  ConsumerOptions,
  LogClient,
  Producer,
  ProducerOptions,
  TransactionalProducer,
  TransactionalProducerOptions,
} from "@tributary/log";
import { ClosedError, ProtocolError } from "@tributary/log";
import { fromKafkaError } from "./errors.js";
import { KafkaAdmin } from "./kafka-admin.js";
import { KafkaBatchReader } from "./kafka-batch-reader.js";
import { KafkaCluster, type KafkaLogOptions } from "./kafka-cluster.js";
import { KafkaConsumer } from "./kafka-consumer.js";
import { KafkaProducer } from "./kafka-producer.js";
import { KafkaTransactionalProducer } from "./kafka-transactional-producer.js";

/**
 * Tributary's LogClient over an Apache Kafka cluster: the same admin, producer and
 * consumer contract as the embedded log and the broker (one test suite proves all three),
 * so a topology runs on Kafka unchanged. Topics and groups are Kafka's own: Kafka's tools
 * list and read them, and a plain Kafka consumer reads what Tributary wrote.
 */
export class KafkaLog implements LogClient {
  readonly admin: KafkaAdmin;
  private readonly cluster: KafkaCluster;
  private readonly open = new Set<{ close(): Promise<void> }>();
  private closed = false;

  private constructor(private readonly options: KafkaLogOptions) {
    this.cluster = new KafkaCluster(options);
    this.admin = new KafkaAdmin(this.cluster);
  }

  /** Connects and checks the cluster answers (a metadata request), so a wrong address fails here. */
  static async open(options: KafkaLogOptions): Promise<KafkaLog> {
    const log = new KafkaLog(options);
    try {
      await log.cluster.client.metadata({ topics: [], forceUpdate: true });
    } catch (err) {
      await log.cluster.close().catch(() => undefined);
      const failed = fromKafkaError(
        err,
        `connect to Kafka at ${log.cluster.brokers.join(",")} ${log.cluster.security.describe()}`,
      );
      // A listener that wants a login, TLS or a client certificate the client did not bring
      // closes the connection without a word: say what it may have wanted.
      if (failed.code === "CONNECTION" && /Connection closed/.test(failed.message)) {
        throw new ProtocolError(
          "CONNECTION",
          `${failed.message}: the broker closed the connection at once; does its listener want a SASL login (TRIBUTARY_USER), TLS (tls:// brokers or TRIBUTARY_TLS_CA) or a client certificate (TRIBUTARY_TLS_CERT, TRIBUTARY_TLS_KEY)?`,
          { cause: err },
        );
      }
      throw failed;
    }
    return log;
  }

  producer(options: ProducerOptions = {}): Producer {
    this.checkOpen();
    const p = new KafkaProducer(
      this.cluster,
      this.options,
      options.clientId ?? this.cluster.clientId,
    );
    return this.track(p);
  }

  transactionalProducer(options: TransactionalProducerOptions): TransactionalProducer {
    this.checkOpen();
    return this.track(
      new KafkaTransactionalProducer(
        this.cluster,
        this.options,
        options.clientId ?? this.cluster.clientId,
        options,
      ),
    );
  }

  consumer(options: ConsumerOptions = {}): Consumer {
    this.checkOpen();
    return this.track(new KafkaConsumer(this.cluster, this.admin, options));
  }

  batchReader(options: BatchReaderOptions): BatchReader {
    this.checkOpen();
    return this.track(new KafkaBatchReader(this.cluster, options));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.open].map((c) => c.close()));
    this.open.clear();
    await this.cluster.close();
  }

  private track<T extends { close(): Promise<void> }>(client: T): T {
    this.open.add(client);
    const close = client.close.bind(client);
    client.close = async () => {
      this.open.delete(client);
      await close();
    };
    return client;
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError("Kafka log client");
  }
}

/**
 * Opens a LogClient on a Kafka cluster: `openKafkaLog({ brokers: "host:9092,host2:9092" })`.
 * What the CLI's `--kafka` flag calls.
 */
export function openKafkaLog(options: KafkaLogOptions): Promise<LogClient> {
  return KafkaLog.open(options);
}
