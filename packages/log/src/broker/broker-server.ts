import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as tls from "node:tls";
import { type Logger, pino } from "pino";
import { InvalidArgumentError, ProtocolError } from "../errors.js";
import type { LogService } from "../client/log-service.js";
import {
  type BrokerAddress,
  DEFAULT_BROKER_HOST,
  DEFAULT_BROKER_PORT,
  formatBrokerAddress,
  parseBrokerAddress,
} from "./broker-address.js";
import { DEFAULT_MAX_FRAME_BYTES } from "./frame-codec.js";
import {
  defaultMaxConnections,
  descriptorAdvice,
  descriptorLimit,
  isDescriptorExhaustion,
  openDescriptorCount,
} from "./descriptor-limit.js";
import { ApiKey, errorToWire, packBody } from "./protocol.js";
import type { BrokerMetrics } from "./broker-metrics.js";
import type { BrokerSecurity } from "./broker-security.js";
import type { QuotaManager } from "./quota-manager.js";
import { ServerConnection } from "./server-connection.js";
import { encodeFrameHeader } from "./frame-codec.js";

export const DEFAULT_MAX_BUFFERED_BYTES_PER_CONNECTION = 16 * 1024 * 1024;
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60 * 1000;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Refused connections and descriptor warnings are logged at most this often (with a count). */
const RATE_LIMITED_LOG_INTERVAL_MS = 1000;
/** How long a refused socket may stay open to deliver its error frame. */
const REFUSAL_LINGER_MS = 500;
/** Refused sockets lingering at once; beyond, refusals are cut without the frame. */
const MAX_LINGERING = 64;
const DESCRIPTOR_CHECK_INTERVAL_MS = 500;

export interface BrokerServerOptions {
  /** Default tcp://127.0.0.1:7070. Port 0 picks a free port (see `address`). */
  address?: BrokerAddress | string;
  /** Clients must present this token in their handshake. */
  token?: string;
  /** Largest frame accepted (and sent). Default 64 MiB. */
  maxFrameBytes?: number;
  /** Requests served at once per connection before reading pauses. Default 1024. */
  maxInFlightPerConnection?: number;
  /**
   * Reading a connection pauses while its unsent answers (and the answers its requests in
   * flight may make) exceed this: a client that never reads cannot make the broker buffer
   * without bound. Default 16 MiB; see ServerConnection.pump for the exact bound.
   */
  maxBufferedBytesPerConnection?: number;
  /**
   * max.connections: connections beyond it get an error frame and are closed. Default:
   * half the file descriptors free at start, at most 10,000 (defaultMaxConnections), so
   * the other half stays for segment files.
   */
  maxConnections?: number;
  /** max.connections.per.ip: the same, per client address. Default: maxConnections. */
  maxConnectionsPerIp?: number;
  /** connections.max.idle.ms: an idle connection is closed after this. Default 10 min; 0: never. */
  idleTimeoutMs?: number;
  /** A connection must complete its handshake this soon after connecting. Default 10 s. */
  handshakeTimeoutMs?: number;
  /** One JSON line per connection open/close and per error. Default: silent. */
  logger?: Logger;
  /** Logins (SCRAM-SHA-256) and ACLs enforced on every request. Default: none. */
  security?: BrokerSecurity;
  /** Per-principal produce and fetch byte rates. */
  quotas?: QuotaManager;
  metrics?: BrokerMetrics;
  /** TLS on the listener: PEM certificate chain and private key. The address becomes tls://. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

/**
 * Serves any LogService over TCP or a Unix socket (protocol.ts). The server owns sockets,
 * not the service: `close()` stops accepting, lets every connection finish its in-flight
 * requests, and closes the sockets; closing the service is the caller's next step.
 */
export class BrokerServer {
  private readonly connections = new Set<ServerConnection>();
  private readonly perAddress = new Map<string, number>();
  private closing: Promise<void> | undefined;
  /** Connections refused for a limit since the broker started. */
  refusedConnections = 0;
  private readonly unlogged = new Map<string, number>();
  private readonly lastLogged = new Map<string, number>();
  private lingering = 0;
  private lastDescriptorCheck = 0;
  /** Read once: reading it later needs a descriptor, which may be what ran out. */
  private readonly descriptorLimit = descriptorLimit();
  private descriptorCheckTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly server: net.Server,
    /** The address actually bound (with the real port when 0 was asked for). */
    readonly address: BrokerAddress,
    readonly maxConnections: number,
    readonly maxConnectionsPerIp: number,
    private readonly logger: Logger,
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
    const maxConnections =
      positive("max connections", options.maxConnections) ?? defaultMaxConnections();
    const maxConnectionsPerIp =
      positive("max connections per ip", options.maxConnectionsPerIp) ?? maxConnections;
    const connectionOptions = {
      tokenDigest:
        options.token === undefined
          ? undefined
          : createHash("sha256").update(options.token).digest(),
      maxFrameBytes,
      maxInFlight: options.maxInFlightPerConnection ?? 1024,
      maxBufferedBytes:
        positive("max buffered bytes per connection", options.maxBufferedBytesPerConnection) ??
        DEFAULT_MAX_BUFFERED_BYTES_PER_CONNECTION,
      idleTimeoutMs:
        nonNegative("idle timeout ms", options.idleTimeoutMs) ?? DEFAULT_IDLE_TIMEOUT_MS,
      handshakeTimeoutMs:
        positive("handshake timeout ms", options.handshakeTimeoutMs) ??
        DEFAULT_HANDSHAKE_TIMEOUT_MS,
      descriptorAdvice: () =>
        descriptorAdvice(maxConnections, broker.connections.size, broker.descriptorLimit),
      logger,
      security: options.security,
      brokerHandlers: options.security?.handlers(),
      quotas: options.quotas,
      metrics: options.metrics,
    };
    if (options.tls !== undefined && requested.transport !== "tcp") {
      throw new InvalidArgumentError(
        "TLS needs a TCP address (--listen host:port), not a Unix socket",
      );
    }
    if (requested.transport === "unix") await removeStaleSocket(requested.path);

    const server =
      options.tls === undefined
        ? net.createServer()
        : tls.createServer({
            ...options.tls,
            handshakeTimeout: connectionOptions.handshakeTimeoutMs,
            minVersion: "TLSv1.2",
          });
    const broker = new BrokerServer(server, requested, maxConnections, maxConnectionsPerIp, logger);
    if (server instanceof tls.Server) {
      // A client that fails TLS (no trust in our certificate, plain TCP) never reaches
      // ServerConnection: say why in the log, once a second at most.
      server.on("tlsClientError", (err) =>
        broker.logRateLimited("tls-failed", `a TLS handshake failed: ${err.message}`),
      );
    }
    server.on(
      server instanceof tls.Server ? "secureConnection" : "connection",
      (socket: net.Socket) => {
        if (broker.closing !== undefined) {
          socket.destroy();
          return;
        }
        broker.checkDescriptors();
        const refusal = broker.refusal(socket);
        if (refusal !== undefined) {
          broker.refuse(socket, refusal);
          return;
        }
        const ip = socket.remoteAddress ?? "local";
        broker.perAddress.set(ip, (broker.perAddress.get(ip) ?? 0) + 1);
        const conn = new ServerConnection(socket, service, connectionOptions);
        broker.connections.add(conn);
        options.metrics?.connections.set(broker.connections.size);
        void conn.closed.then(() => {
          broker.connections.delete(conn);
          options.metrics?.connections.set(broker.connections.size);
          const n = (broker.perAddress.get(ip) ?? 1) - 1;
          if (n === 0) broker.perAddress.delete(ip);
          else broker.perAddress.set(ip, n);
        });
      },
    );
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
    server.on("error", (err) => broker.onServerError(err));
    const bound = server.address();
    const actual: BrokerAddress =
      requested.transport === "tcp" && bound !== null && typeof bound === "object"
        ? {
            transport: "tcp",
            host: requested.host,
            port: bound.port,
            ...(options.tls === undefined ? {} : { tls: true }),
          }
        : requested;
    (broker as { address: BrokerAddress }).address = actual;
    logger.info({ event: "listening", address: formatBrokerAddress(actual) }, "broker listening");
    broker.logLimits();
    return broker;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private logLimits(): void {
    const limit = this.descriptorLimit;
    const free = limit === undefined ? undefined : limit - (openDescriptorCount() ?? 0);
    const fields = {
      event: "connection-limits",
      maxConnections: this.maxConnections,
      maxConnectionsPerIp: this.maxConnectionsPerIp,
      descriptorLimit: limit,
      descriptorsFree: free,
    };
    if (free !== undefined && this.maxConnections > free - 64) {
      this.logger.warn(
        fields,
        `max.connections ${this.maxConnections} leaves no descriptors for segment files (${free} free of ${limit}): raise ulimit -n or lower --max-connections, or rolls will fail with EMFILE`,
      );
    } else {
      this.logger.info(
        fields,
        `accepting up to ${this.maxConnections} connections (${this.maxConnectionsPerIp} per address)`,
      );
    }
  }

  /** Why this new connection is refused, or undefined to serve it. */
  private refusal(socket: net.Socket): string | undefined {
    if (this.connections.size >= this.maxConnections) {
      return `the broker has ${this.connections.size} connections, its max.connections (--max-connections ${this.maxConnections}): close idle clients or raise the limit (and ulimit -n with it)`;
    }
    const ip = socket.remoteAddress ?? "local";
    const fromIp = this.perAddress.get(ip) ?? 0;
    if (fromIp >= this.maxConnectionsPerIp) {
      return `${ip} already has ${fromIp} connections to this broker, its max.connections.per.ip (--max-connections-per-ip ${this.maxConnectionsPerIp}): reuse connections or raise the limit`;
    }
    return undefined;
  }

  /**
   * An error frame saying which limit, then close: the client's error names it. The socket
   * lingers (reading and dropping, so the close is a FIN and not a reset that could lose
   * the frame) until the client closes or REFUSAL_LINGER_MS; past MAX_LINGERING refusals
   * at once a flood is cut without the frame, so refused sockets cannot hold descriptors.
   */
  private refuse(socket: net.Socket, why: string): void {
    this.refusedConnections++;
    this.logRateLimited("connection-refused", why);
    socket.on("error", () => {});
    if (this.lingering >= MAX_LINGERING) {
      socket.destroy();
      return;
    }
    this.lingering++;
    socket.once("close", () => this.lingering--);
    const body = packBody({
      error: errorToWire(
        new ProtocolError("CONNECTION", `connection refused: ${why}`, { retriable: true }),
      ),
    });
    socket.end(Buffer.concat([encodeFrameHeader(0, ApiKey.Error, body.length), body]));
    socket.resume();
    setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
  }

  /**
   * libuv hides EMFILE on accept (it accepts and closes the connection with a reserved
   * descriptor), so the broker looks itself: at most twice a second while connections
   * arrive (and once after the last), it counts its descriptors and says which limit to raise when few are left.
   */
  private checkDescriptors(): void {
    const now = Date.now();
    if (now - this.lastDescriptorCheck < DESCRIPTOR_CHECK_INTERVAL_MS) {
      // The last connection of a burst is checked too: after it, none may reach us.
      this.descriptorCheckTimer ??= setTimeout(() => {
        this.descriptorCheckTimer = undefined;
        this.checkDescriptors();
      }, DESCRIPTOR_CHECK_INTERVAL_MS).unref();
      return;
    }
    this.lastDescriptorCheck = now;
    const limit = this.descriptorLimit;
    const open = openDescriptorCount(limit);
    if (limit === undefined || open === undefined) return;
    if (limit - open <= Math.max(16, Math.floor(limit / 50))) {
      this.logRateLimited(
        "descriptors-low",
        `connections are being dropped or soon will be: ${descriptorAdvice(this.maxConnections, this.connections.size, this.descriptorLimit)}`,
      );
    }
  }

  private onServerError(err: NodeJS.ErrnoException): void {
    if (isDescriptorExhaustion(err)) {
      this.logRateLimited(
        "accept-failed",
        `cannot accept a connection: ${descriptorAdvice(this.maxConnections, this.connections.size, this.descriptorLimit)}`,
      );
      return;
    }
    this.logger.error({ event: "server-error", err }, "server error");
  }

  /** Under a flood of connections one line a second per event, with how many it stands for. */
  logRateLimited(event: string, message: string): void {
    const count = (this.unlogged.get(event) ?? 0) + 1;
    const now = Date.now();
    if (now - (this.lastLogged.get(event) ?? 0) < RATE_LIMITED_LOG_INTERVAL_MS) {
      this.unlogged.set(event, count);
      return;
    }
    this.lastLogged.set(event, now);
    this.unlogged.set(event, 0);
    this.logger.warn(
      {
        event,
        count,
        refusedTotal: this.refusedConnections,
        connections: this.connections.size,
      },
      message,
    );
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

function positive(what: string, v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new InvalidArgumentError(`${what} ${v}: expected a positive integer`);
  }
  return v;
}

function nonNegative(what: string, v: number | undefined): number | undefined {
  return v === 0 ? 0 : positive(what, v);
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
