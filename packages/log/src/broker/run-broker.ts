import * as fs from "node:fs";
import type { Logger } from "pino";
import { pino } from "pino";
import { type EmbeddedLogOptions, EmbeddedLogService } from "../embedded-log-service.js";
import { type BrokerAddress, formatBrokerAddress, parseBrokerAddress } from "./broker-address.js";
import { removeBrokerInfo, writeBrokerInfo } from "./broker-info.js";
import { BrokerMetrics } from "./broker-metrics.js";
import { BrokerSecurity } from "./broker-security.js";
import { BrokerServer, type BrokerServerOptions } from "./broker-server.js";
import { type QuotaConfig, QuotaManager } from "./quota-manager.js";
import { type RunningMetricsServer, startMetricsServer } from "../metrics/metrics-server.js";

/** Connection limits and timeouts, as BrokerServerOptions (flags of `tributary broker`). */
export type BrokerConnectionLimits = Pick<
  BrokerServerOptions,
  | "maxConnections"
  | "maxConnectionsPerIp"
  | "idleTimeoutMs"
  | "handshakeTimeoutMs"
  | "maxBufferedBytesPerConnection"
>;

export interface StartBrokerOptions extends BrokerConnectionLimits {
  dataDir: string;
  /** tcp address or unix socket; default tcp://127.0.0.1:7070. */
  address?: string | BrokerAddress;
  token?: string;
  maxFrameBytes?: number;
  /** Default: JSON lines on stderr, so stdout stays free for the ready line. */
  logger?: Logger;
  /** Passed to the embedded log (e.g. a shorter initial rebalance delay in tests). */
  logOptions?: EmbeddedLogOptions;
  /** Require logins and enforce the data dir's ACLs (security.json), with these super-users. */
  acls?: { superUsers?: string[] };
  /** Per-principal byte rates ({ "User:x" | "default": { produceBytesPerSec, fetchBytesPerSec } }). */
  quotas?: QuotaConfig;
  /** Serve /metrics, /healthz and /readyz on this host:port. */
  metricsListen?: string;
  /** TLS on the listener (PEM contents). */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export interface RunningBroker {
  readonly address: BrokerAddress;
  readonly server: BrokerServer;
  /** Where /metrics is served, when asked for. */
  readonly metricsAddress: string | undefined;
  /** Stops accepting, finishes in-flight requests, closes the log (flush, unlock), removes broker.json. */
  stop(): Promise<void>;
}

/**
 * A broker on a data directory: the embedded log (which takes the directory's lock, so
 * one broker per directory) served by a BrokerServer, announced in broker.json.
 */
export async function startBroker(options: StartBrokerOptions): Promise<RunningBroker> {
  const logger = options.logger ?? pino({ base: { pid: process.pid } }, pino.destination(2));
  // Bad flags must fail before the data directory is created or locked.
  const address = options.address === undefined ? undefined : parseBrokerAddress(options.address);
  fs.mkdirSync(options.dataDir, { recursive: true });
  const security =
    options.acls === undefined
      ? undefined
      : new BrokerSecurity({ dataDir: options.dataDir, superUsers: options.acls.superUsers });
  const quotas = options.quotas === undefined ? undefined : new QuotaManager(options.quotas);
  const service = await EmbeddedLogService.open(options.dataDir, {
    logger,
    ...options.logOptions,
  });
  const metrics = options.metricsListen === undefined ? undefined : new BrokerMetrics(service);
  let server: BrokerServer | undefined;
  let metricsServer: RunningMetricsServer | undefined;
  try {
    server = await BrokerServer.listen(service, {
      address,
      token: options.token,
      maxFrameBytes: options.maxFrameBytes,
      maxConnections: options.maxConnections,
      maxConnectionsPerIp: options.maxConnectionsPerIp,
      idleTimeoutMs: options.idleTimeoutMs,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
      maxBufferedBytesPerConnection: options.maxBufferedBytesPerConnection,
      logger,
      security,
      quotas,
      metrics,
      tls: options.tls,
    });
    if (metrics !== undefined) {
      metricsServer = await startMetricsServer({
        listen: options.metricsListen!,
        registry: metrics.registry,
      });
    }
  } catch (err) {
    await server?.close();
    await service.close();
    throw err;
  }
  const listening: BrokerServer = server;
  writeBrokerInfo(options.dataDir, {
    address: formatBrokerAddress(listening.address),
    pid: process.pid,
    startedAt: new Date().toISOString(),
  });
  let stopping: Promise<void> | undefined;
  return {
    address: listening.address,
    server: listening,
    metricsAddress: metricsServer?.address,
    stop() {
      stopping ??= (async () => {
        logger.info({ event: "stopping" }, "broker stopping");
        removeBrokerInfo(options.dataDir);
        // The server stops reading requests and waits for those in flight; closing the
        // log then lets the ones that wait (long polls, joins waiting on a rebalance)
        // answer now, and every acknowledged produce is flushed, before the sockets close.
        const drained = listening.close();
        await service.close();
        await drained;
        await metricsServer?.close();
        logger.info({ event: "stopped" }, "broker stopped");
      })();
      return stopping;
    },
  };
}
