import type { LogClient, Producer } from "@tributary/log";
import {
  QUERY_ENDPOINT_INTERVAL_MS,
  QUERY_ENDPOINTS_TOPIC,
  type QueryEndpoint,
} from "../query/query-endpoint.js";
import type { LocalStoreRegistry } from "./local-store-registry.js";
import type { WarnFields } from "./worker-options.js";

/** Longest a stopping worker waits for its tombstone (a gone broker must not hold up a
 * stop: readers then drop the endpoint as stale). */
const STOP_WAIT_MS = 3000;
/** Changes of the registry within this long go out as one publish. */
const COALESCE_MS = 20;

/**
 * Advertises a worker's query endpoint (QueryEndpoint) in QUERY_ENDPOINTS_TOPIC: at start,
 * whenever its queryable or restoring tasks change, and every interval; a tombstone at
 * stop. Best effort, as the app status: a failed publish is warned about and counted, and
 * clients retry a query that reached a worker whose endpoint was out of date.
 */
export class QueryEndpointPublisher {
  private producer: Producer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private soon: NodeJS.Timeout | null = null;
  private inflight: Promise<void> = Promise.resolve();
  private topicReady = false;
  failures = 0;

  constructor(
    private readonly log: LogClient,
    private readonly registry: LocalStoreRegistry,
    private readonly endpoint: Pick<
      QueryEndpoint,
      "applicationId" | "memberId" | "url" | "secured" | "stores"
    >,
    private readonly warn: (message: string, fields?: WarnFields) => void,
  ) {}

  start(clientId: string): void {
    this.producer = this.log.producer({
      clientId: `${clientId}-queries`,
      deliveryTimeoutMs: STOP_WAIT_MS,
    });
    this.registry.onChange(() => {
      if (this.timer === null || this.soon !== null) return;
      this.soon = setTimeout(() => {
        this.soon = null;
        this.schedule();
      }, COALESCE_MS);
    });
    this.schedule();
    this.timer = setInterval(() => this.schedule(), QUERY_ENDPOINT_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    if (this.soon !== null) clearTimeout(this.soon);
    this.soon = null;
    const last = this.inflight.then(() => this.send(null));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      last,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, STOP_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    await this.producer?.close().catch(() => {});
    this.producer = null;
  }

  private schedule(): void {
    this.inflight = this.inflight.then(() => this.send(this.encode()));
  }

  private encode(): Buffer {
    const e: QueryEndpoint = {
      v: 1,
      ...this.endpoint,
      tasks: this.registry.taskIds(),
      restoring: this.registry.restoringIds(),
      standbys: this.registry.standbyIds(),
      publishedAt: Date.now(),
      intervalMs: QUERY_ENDPOINT_INTERVAL_MS,
    };
    return Buffer.from(JSON.stringify(e));
  }

  private async send(value: Buffer | null): Promise<void> {
    const producer = this.producer;
    if (producer === null) return;
    try {
      if (!this.topicReady) {
        await this.log.admin.createTopic(QUERY_ENDPOINTS_TOPIC, {
          partitions: 1,
          config: { cleanupPolicy: "compact" },
          ifNotExists: true,
        });
        this.topicReady = true;
      }
      const key = Buffer.from(`${this.endpoint.applicationId}/${this.endpoint.memberId}`);
      await producer.send(QUERY_ENDPOINTS_TOPIC, [{ key, value }]);
    } catch (e) {
      this.failures++;
      this.warn(
        `query endpoint not published to ${QUERY_ENDPOINTS_TOPIC} (${e instanceof Error ? e.message : String(e)}); clients route by the last one until the next succeeds`,
        { event: "query-endpoint-not-published", topic: QUERY_ENDPOINTS_TOPIC },
      );
    }
  }
}
