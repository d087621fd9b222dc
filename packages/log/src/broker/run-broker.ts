import * as fs from "node:fs";
import type { Logger } from "pino";
import { pino } from "pino";
import { type EmbeddedLogOptions, EmbeddedLogService } from "../embedded-log-service.js";
import { type BrokerAddress, formatBrokerAddress, parseBrokerAddress } from "./broker-address.js";
import { removeBrokerInfo, writeBrokerInfo } from "./broker-info.js";
import { BrokerServer } from "./broker-server.js";

export interface StartBrokerOptions {
  dataDir: string;
  /** tcp address or unix socket; default tcp://127.0.0.1:7070. */
  address?: string | BrokerAddress;
  token?: string;
  maxFrameBytes?: number;
  /** Default: JSON lines on stderr, so stdout stays free for the ready line. */
  logger?: Logger;
  /** Passed to the embedded log (e.g. a shorter initial rebalance delay in tests). */
  logOptions?: EmbeddedLogOptions;
}

export interface RunningBroker {
  readonly address: BrokerAddress;
  readonly server: BrokerServer;
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
  const service = await EmbeddedLogService.open(options.dataDir, { logger, ...options.logOptions });
  let server: BrokerServer;
  try {
    server = await BrokerServer.listen(service, {
      address,
      token: options.token,
      maxFrameBytes: options.maxFrameBytes,
      logger,
    });
  } catch (err) {
    await service.close();
    throw err;
  }
  writeBrokerInfo(options.dataDir, {
    address: formatBrokerAddress(server.address),
    pid: process.pid,
    startedAt: new Date().toISOString(),
  });
  let stopping: Promise<void> | undefined;
  return {
    address: server.address,
    server,
    stop() {
      stopping ??= (async () => {
        logger.info({ event: "stopping" }, "broker stopping");
        removeBrokerInfo(options.dataDir);
        // The server stops reading requests and waits for those in flight; closing the
        // log then lets the ones that wait (long polls, joins waiting on a rebalance)
        // answer now, and every acknowledged produce is flushed, before the sockets close.
        const drained = server.close();
        await service.close();
        await drained;
        logger.info({ event: "stopped" }, "broker stopped");
      })();
      return stopping;
    },
  };
}
