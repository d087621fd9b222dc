import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import { type Logger, pino } from "pino";
import { InvalidArgumentError } from "../errors.js";
import type { LogService } from "../log-service.js";
import {
  type BrokerAddress,
  DEFAULT_BROKER_HOST,
  DEFAULT_BROKER_PORT,
  formatBrokerAddress,
  parseBrokerAddress,
} from "./broker-address.js";
import { DEFAULT_MAX_FRAME_BYTES } from "./frame-codec.js";
import { ServerConnection } from "./server-connection.js";

export interface BrokerServerOptions {
  /** Default tcp://127.0.0.1:7070. Port 0 picks a free port (see `address`). */
  address?: BrokerAddress | string;
  /** Clients must present this token in their handshake. */
  token?: string;
  /** Largest frame accepted (and sent). Default 64 MiB. */
  maxFrameBytes?: number;
  /** Requests served at once per connection before reading pauses. Default 1024. */
  maxInFlightPerConnection?: number;
  /** One JSON line per connection open/close and per error. Default: silent. */
  logger?: Logger;
}

/**
 * Serves any LogService over TCP or a Unix socket (protocol.ts). The server owns sockets,
 * not the service: `close()` stops accepting, lets every connection finish its in-flight
 * requests, and closes the sockets; closing the service is the caller's next step.
 */
export class BrokerServer {
  private readonly connections = new Set<ServerConnection>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: net.Server,
    /** The address actually bound (with the real port when 0 was asked for). */
    readonly address: BrokerAddress,
  ) {}

  static async listen(
    service: LogService,
    options: BrokerServerOptions = {},
  ): Promise<BrokerServer> {
    const requested = parseBrokerAddress(
      options.address ?? { transport: "tcp", host: DEFAULT_BROKER_HOST, port: DEFAULT_BROKER_PORT },
    );
    const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (
      !Number.isSafeInteger(maxFrameBytes) ||
      maxFrameBytes < 1024 ||
      maxFrameBytes > 2 ** 32 - 1
    ) {
      throw new InvalidArgumentError(
        `max frame bytes ${maxFrameBytes} is out of range: use an integer from 1024 to 4294967295`,
      );
    }
    if (options.token !== undefined && options.token.length === 0) {
      throw new InvalidArgumentError("the broker token is empty: put a secret in the token file");
    }
    const logger = options.logger ?? pino({ level: "silent" });
    const connectionOptions = {
      tokenDigest:
        options.token === undefined
          ? undefined
          : createHash("sha256").update(options.token).digest(),
      maxFrameBytes,
      maxInFlight: options.maxInFlightPerConnection ?? 1024,
      logger,
    };
    if (requested.transport === "unix") await removeStaleSocket(requested.path);

    const server = net.createServer();
    const broker = new BrokerServer(server, requested);
    server.on("connection", (socket) => {
      if (broker.closing !== undefined) {
        socket.destroy();
        return;
      }
      const conn = new ServerConnection(socket, service, connectionOptions);
      broker.connections.add(conn);
      void conn.closed.then(() => broker.connections.delete(conn));
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(
          err.code === "EADDRINUSE"
            ? new InvalidArgumentError(
                `${formatBrokerAddress(requested)} is already in use: is another broker running? Choose another --listen port or --socket path`,
              )
            : err,
        );
      };
      server.once("error", onError);
      const listening = () => {
        server.off("error", onError);
        resolve();
      };
      if (requested.transport === "unix") server.listen(requested.path, listening);
      else server.listen(requested.port, requested.host, listening);
    });
    server.on("error", (err) => logger.error({ event: "server-error", err }, "server error"));
    const bound = server.address();
    const actual: BrokerAddress =
      requested.transport === "tcp" && bound !== null && typeof bound === "object"
        ? { transport: "tcp", host: requested.host, port: bound.port }
        : requested;
    (broker as { address: BrokerAddress }).address = actual;
    logger.info({ event: "listening", address: formatBrokerAddress(actual) }, "broker listening");
    return broker;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops accepting, finishes in-flight requests on every connection, closes them. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.closing = (async () => {
      await Promise.all([...this.connections].map((c) => c.drain()));
      await serverClosed;
      if (this.address.transport === "unix") fs.rmSync(this.address.path, { force: true });
    })();
    return this.closing;
  }
}

/** A socket file left by a broker that was killed would make listen fail with EADDRINUSE. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  if (!fs.existsSync(socketPath)) return;
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect(socketPath);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (live) {
    throw new InvalidArgumentError(
      `socket ${socketPath} is in use by a running process: stop it or choose another --socket path`,
    );
  }
  fs.rmSync(socketPath, { force: true });
}
