import { ClosedError } from "../errors.js";
import type { BatchReader, BatchReaderOptions } from "./batch-reader.js";
import type {
  Admin,
  Consumer,
  ConsumerOptions,
  LogClient,
  Producer,
  ProducerOptions,
  TransactionalProducer,
  TransactionalProducerOptions,
} from "./log-client.js";
import type { LogService } from "./log-service.js";
import { MetadataCache } from "./metadata-cache.js";
import { ServiceAdmin } from "./service-admin.js";
import { ServiceBatchReader } from "./service-batch-reader.js";
import { ServiceConsumer } from "./service-consumer.js";
import { ServiceProducer } from "./service-producer.js";
import { ServiceTransactionalProducer } from "./service-transactional-producer.js";

/**
 * A LogClient over any LogService: the embedded log in-process, or the broker over a
 * socket. Closing the client closes its consumers (leaving their groups) and the service.
 */
export class ServiceLogClient implements LogClient {
  readonly admin: Admin;
  private readonly metadata: MetadataCache;
  private readonly consumers = new Set<ServiceConsumer>();
  private closed = false;

  constructor(readonly service: LogService) {
    this.metadata = new MetadataCache(service);
    this.admin = new ServiceAdmin(service, this.metadata);
  }

  producer(options: ProducerOptions = {}): Producer {
    if (this.closed) throw new ClosedError("log client");
    return new ServiceProducer(
      this.service,
      this.metadata,
      undefined,
      options.deliveryTimeoutMs,
      options.idempotent ?? true,
    );
  }

  transactionalProducer(options: TransactionalProducerOptions): TransactionalProducer {
    if (this.closed) throw new ClosedError("log client");
    return new ServiceTransactionalProducer(this.service, this.metadata, options);
  }

  consumer(options: ConsumerOptions = {}): Consumer {
    if (this.closed) throw new ClosedError("log client");
    const consumer = new ServiceConsumer(this.service, options);
    this.consumers.add(consumer);
    return consumer;
  }

  batchReader(options: BatchReaderOptions): BatchReader {
    if (this.closed) throw new ClosedError("log client");
    return new ServiceBatchReader(this.service, options);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.consumers].map((c) => c.close()));
    await this.service.close();
  }
}
