import * as net from "node:net";
import * as tls from "node:tls";
import { ProtocolError, type TributaryError } from "../errors.js";
import { type BrokerAddress, formatBrokerAddress } from "./broker-address.js";
import { FrameDecoder, checkOutgoingFrame, encodeFrameHeader } from "./frame-codec.js";
import {
  API_NAMES,
  ApiKey,
  type HandshakeResponse,
  PROTOCOL_VERSION,
  type ResponseBody,
  errorFromWire,
  unpackBody,
} from "./protocol.js";
import { encodeBody } from "./body-chunks.js";
import { SCRAM_MECHANISM, ScramClient } from "../security/scram.js";

export interface ClientConnectionOptions {
  token?: string;
  clientId?: string;
  /** Log in as this user (SCRAM-SHA-256) on a broker started with --acls. */
  sasl?: { username: string; password: string };
  /** For tls:// addresses: the CA that signed the broker's certificate (PEM). Default: the system's. */
  tlsCa?: string | Buffer;
  maxFrameBytes: number;
  connectTimeoutMs: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
  apiKey: number;
}

/**
 * One socket to a broker, after a successful handshake. Many requests may be in flight;
 * each answer is matched to its request by correlationId. When the socket drops, every
 * request still waiting fails with a retriable ProtocolError("CONNECTION"): whether it was
 * applied is unknown (see RemoteLogService on produce). Reconnecting is the owner's job.
 */
export class ClientConnection {
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private closedError: TributaryError | undefined;
  private closeListeners: ((err: TributaryError) => void)[] = [];
  /** Frame limit agreed in the handshake: the smaller of ours and the broker's. */
  private maxFrameBytes: number;
  /** The socket is corked until the end of this tick (see request). */
  private corked = false;

  private constructor(
    private readonly socket: net.Socket,
    readonly address: BrokerAddress,
    options: ClientConnectionOptions,
  ) {
    this.maxFrameBytes = options.maxFrameBytes;
    const decoder = new FrameDecoder(options.maxFrameBytes);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      try {
        decoder.push(chunk, (f) => this.onFrame(f.correlationId, f.apiKey, f.body));
      } catch (err) {
        this.fail(err as TributaryError);
      }
    });
    socket.on("error", (err) => this.fail(this.connectionError(err.message, err)));
    socket.on("close", () => this.fail(this.connectionError("the broker closed the connection")));
  }

  /** Connects and handshakes; rejects with CONNECTION, TIMEOUT or AUTHENTICATION_FAILED. */
  static open(address: BrokerAddress, options: ClientConnectionOptions): Promise<ClientConnection> {
    return new Promise((resolve, reject) => {
      const secure = address.transport === "tcp" && address.tls === true;
      const socket =
        address.transport === "unix"
          ? net.connect(address.path)
          : secure
            ? tls.connect({
                host: address.host,
                port: address.port,
                ca: options.tlsCa,
                servername: net.isIP(address.host) === 0 ? address.host : undefined,
                minVersion: "TLSv1.2",
              })
            : net.connect(address.port, address.host);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new ProtocolError(
            "TIMEOUT",
            `no connection to the broker at ${formatBrokerAddress(address)} within ${options.connectTimeoutMs} ms`,
            { retriable: true },
          ),
        );
      }, options.connectTimeoutMs);
      const onConnectError = (err: Error) => {
        clearTimeout(timer);
        reject(
          new ProtocolError(
            "CONNECTION",
            `cannot connect to the broker at ${formatBrokerAddress(address)} (${err.message}): is it running? Start it with tributary broker`,
            { retriable: true, cause: err },
          ),
        );
      };
      socket.once("error", onConnectError);
      socket.once(secure ? "secureConnect" : "connect", () => {
        socket.off("error", onConnectError);
        const conn = new ClientConnection(socket, address, options);
        conn.handshake(options).then(
          () => {
            clearTimeout(timer);
            resolve(conn);
          },
          (err) => {
            clearTimeout(timer);
            conn.close();
            reject(err);
          },
        );
      });
    });
  }

  /** The handshake, and when a user is given, SCRAM's two round trips after it. */
  private async handshake(options: ClientConnectionOptions): Promise<void> {
    const scram =
      options.sasl === undefined
        ? undefined
        : new ScramClient(options.sasl.username, options.sasl.password);
    const hs = (await this.request(
      ApiKey.Handshake,
      {
        version: PROTOCOL_VERSION,
        token: options.token,
        clientId: options.clientId,
        maxFrameBytes: options.maxFrameBytes,
        ...(scram === undefined ? {} : { mechanism: SCRAM_MECHANISM, saslMessage: scram.first() }),
      },
      options.connectTimeoutMs,
    )) as HandshakeResponse;
    this.maxFrameBytes = Math.min(this.maxFrameBytes, hs.maxFrameBytes);
    if (scram === undefined) return;
    if (typeof hs.saslMessage !== "string") {
      throw new ProtocolError("AUTHENTICATION_FAILED", "the broker did not answer the login");
    }
    const done = (await this.request(
      ApiKey.SaslAuthenticate,
      { saslMessage: scram.final(hs.saslMessage) },
      options.connectTimeoutMs,
    )) as { saslMessage?: unknown };
    scram.verify(String(done.saslMessage));
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Called once, with the error that ended the connection. */
  onClose(listener: (err: TributaryError) => void): void {
    if (this.closedError !== undefined) listener(this.closedError);
    else this.closeListeners.push(listener);
  }

  request(apiKey: number, body: unknown, timeoutMs: number): Promise<unknown> {
    if (this.closedError !== undefined) return Promise.reject(this.closedError);
    let encoded: { chunks: Buffer[]; length: number };
    try {
      encoded = encodeBody(apiKey, body);
      checkOutgoingFrame(encoded.length, this.maxFrameBytes);
    } catch (err) {
      return Promise.reject(err);
    }
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) >>> 0 || 1;
    return new Promise((resolve, reject) => {
      const pending: Pending = { resolve, reject, timer: undefined, apiKey };
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        pending.timer = setTimeout(() => {
          this.pending.delete(correlationId);
          reject(
            new ProtocolError(
              "TIMEOUT",
              `${API_NAMES.get(apiKey)} request to ${formatBrokerAddress(this.address)} got no answer within ${timeoutMs} ms (it may still have been applied)`,
              { retriable: true },
            ),
          );
        }, timeoutMs);
      }
      this.pending.set(correlationId, pending);
      // Requests made in one tick (a send's batches for several partitions) leave in one
      // writev.
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        process.nextTick(this.uncork);
      }
      this.socket.write(encodeFrameHeader(correlationId, apiKey, encoded.length));
      for (const chunk of encoded.chunks) this.socket.write(chunk);
    });
  }

  private readonly uncork = () => {
    this.corked = false;
    this.socket.uncork();
  };

  close(): void {
    this.fail(this.connectionError("the connection was closed by the client"));
  }

  private onFrame(correlationId: number, apiKey: number, body: Buffer): void {
    let response: ResponseBody;
    try {
      response = unpackBody(body) as ResponseBody;
    } catch (err) {
      this.fail(err as TributaryError);
      return;
    }
    if (apiKey === ApiKey.Error) {
      // The broker refused something about the connection itself and is closing it. The
      // request it names (if any) gets that error; every other one fails as the connection
      // goes.
      const err = errorFromWire(response?.error);
      const p = this.pending.get(correlationId);
      if (p !== undefined) this.settle(correlationId, p, err);
      this.fail(err, this.connectionError(`the broker closed it after an error: ${err.message}`));
      return;
    }
    const p = this.pending.get(correlationId);
    if (p === undefined) return; // timed out already
    if (response === null || typeof response !== "object") {
      this.settle(
        correlationId,
        p,
        new ProtocolError("MALFORMED_FRAME", "broker answer is not a map"),
      );
    } else if (response.error !== undefined) {
      this.settle(correlationId, p, errorFromWire(response.error));
    } else {
      this.settle(correlationId, p, undefined, response.ok);
    }
  }

  private settle(correlationId: number, p: Pending, err?: Error, value?: unknown): void {
    this.pending.delete(correlationId);
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (err !== undefined) p.reject(err);
    else p.resolve(value);
  }

  private connectionError(why: string, cause?: Error): ProtocolError {
    return new ProtocolError(
      "CONNECTION",
      `connection to the broker at ${formatBrokerAddress(this.address)} lost: ${why}; requests in flight may or may not have been applied`,
      { retriable: true, cause },
    );
  }

  /** `err` is why the connection ended; `pendingError` is what the requests in flight see. */
  private fail(err: TributaryError, pendingError: TributaryError = err): void {
    if (this.closedError !== undefined) return;
    this.closedError = err;
    this.socket.destroy();
    for (const [id, p] of this.pending) this.settle(id, p, pendingError);
    const listeners = this.closeListeners;
    this.closeListeners = [];
    for (const l of listeners) l(err);
  }
}
