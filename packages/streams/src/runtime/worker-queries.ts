import * as os from "node:os";
import type { LogClient } from "@tributary/log";
import type { Topology } from "../topology/topology.js";
import { LocalStoreRegistry } from "./local-store-registry.js";
import { QueryEndpointPublisher } from "./query-endpoint-publisher.js";
import { QueryServer, type QueryServerOptions } from "./query-server.js";
import type { WarnFields } from "./worker-options.js";

/**
 * A worker's side of interactive queries: the registry of its open stores (fed by the
 * task manager), the HTTP server that reads them, and the publisher that advertises
 * where it listens and which tasks it holds. Started after the worker joined its group,
 * stopped before it releases its log client.
 */
export class WorkerQueries {
  readonly registry = new LocalStoreRegistry();
  private server: QueryServer | null = null;
  private publisher: QueryEndpointPublisher | null = null;

  constructor(
    private readonly topology: Topology,
    private readonly options: QueryServerOptions,
  ) {}

  /** Where this worker serves queries, once started ("" before). */
  get url(): string {
    return this.server?.url ?? "";
  }

  async start(
    log: LogClient,
    clientId: string,
    warn: (message: string, fields?: WarnFields) => void,
  ): Promise<void> {
    this.server = new QueryServer(this.topology, this.registry, log, this.options);
    const url = await this.server.start();
    this.publisher = new QueryEndpointPublisher(
      log,
      this.registry,
      {
        applicationId: this.topology.applicationId,
        // the address too: workers of one process may share a client id
        memberId: `${os.hostname()}:${process.pid}:${clientId}@${url}`,
        url,
        secured: this.options.secret !== undefined,
        stores: Object.fromEntries(
          this.topology.subtopologies.flatMap((s) => s.stores.map((x) => [x.name, x.type])),
        ),
      },
      warn,
    );
    this.publisher.start(clientId);
  }

  async stop(): Promise<void> {
    await this.publisher?.stop();
    this.publisher = null;
    await this.server?.stop();
    this.server = null;
  }
}
