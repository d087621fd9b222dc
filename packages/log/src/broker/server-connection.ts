import { createHash, timingSafeEqual } from "node:crypto";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { ProtocolError, TributaryError } from "../errors.js";
import type { LogService } from "../log-service.js";
import { FRAME_HEADER_BYTES, type Frame, FrameDecoder, encodeFrameHeader } from "./frame-codec.js";

/** The largest frame a connection may send before its handshake succeeded. */
export const HANDSHAKE_MAX_FRAME_BYTES = 64 * 1024;
import {
  API_NAMES,
  ApiKey,
  type HandshakeResponse,
  PROTOCOL_VERSION,
  errorToWire,
  packBody,
  unpackBody,
} from "./protocol.js";
import { requestBody, requestHandler } from "./request-dispatch.js";
import { encodeBody } from "./body-chunks.js";

export interface ServerConnectionOptions {
  /** sha256 of the token clients must present, or undefined for no authentication. */
  tokenDigest: Buffer | undefined;
  maxFrameBytes: number;
  /** Reading pauses while this many requests are being served (backpressure). */
  maxInFlight: number;
  logger: Logger;
}

/**
 * One client connection on the broker. Responsibilities:
 * - cut the byte stream into frames and refuse bad ones (error frame, then close);
 * - require a handshake first (version, and the token when the broker has one);
 * - run requests concurrently and answer each as it completes, so a long-poll fetch never
 *   holds up a produce behind it;
 * - drain: on shutdown, stop reading, finish what is in flight, then close.
 *
 * It does not touch group membership when the socket closes: a member that vanishes is
 * removed by its session timeout, as in Kafka, unless it sent LeaveGroup.
 */
export class ServerConnection {
  private readonly decoder: FrameDecoder;
  private handshaken = false;
  private closing = false;
  private inFlight = 0;
  private requests = 0;
  private clientId: string | undefined;
  /** The smaller of our and the client's frame limit: responses must fit both. */
  private responseLimit: number;
  private drained: (() => void) | undefined;
  /** The socket is corked until the end of this tick (see respond). */
  private corked = false;
  readonly closed: Promise<void>;
  private readonly log: Logger;

  constructor(
    private readonly socket: Socket,
    private readonly service: LogService,
    private readonly options: ServerConnectionOptions,
  ) {
    // Until a client has shaken hands (and shown its token), it gets no more than a
    // handshake's worth of memory: many unauthenticated connections cannot each make the
    // broker buffer a 64 MiB frame.
    this.decoder = new FrameDecoder(Math.min(options.maxFrameBytes, HANDSHAKE_MAX_FRAME_BYTES));
    this.responseLimit = options.maxFrameBytes;
    const remote =
      socket.remoteAddress === undefined ? "local" : `${socket.remoteAddress}:${socket.remotePort}`;
    this.log = options.logger.child({ remote });
    this.log.info({ event: "connection-open" }, "connection opened");
    socket.setNoDelay(true);
    let socketError: string | undefined;
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => {
      socketError = err.message;
    });
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.closing = true;
        this.log.info(
          {
            event: "connection-close",
            clientId: this.clientId,
            requests: this.requests,
            inFlight: this.inFlight,
            partialFrameBytes: this.decoder.bufferedBytes,
            socketError,
          },
          "connection closed",
        );
        resolve();
      });
    });
  }

  /** Stops reading, lets in-flight requests answer, then ends the connection. */
  async drain(): Promise<void> {
    this.closing = true;
    this.socket.pause();
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), 2000);
    timer.unref();
    await this.closed;
    clearTimeout(timer);
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    try {
      this.decoder.push(chunk, (frame) => this.onFrame(frame));
    } catch (err) {
      this.fatal(err, 0);
    }
  }

  private onFrame(frame: Frame): void {
    if (this.closing) return;
    if (!this.handshaken) {
      this.handshake(frame);
      return;
    }
    let handler: ReturnType<typeof requestHandler>;
    let body: Record<string, unknown>;
    try {
      handler = requestHandler(frame.apiKey);
      body = requestBody(unpackBody(frame.body));
    } catch (err) {
      this.fatal(err, frame.correlationId);
      return;
    }
    this.requests++;
    this.inFlight++;
    if (this.inFlight === this.options.maxInFlight) this.socket.pause();
    let call: Promise<unknown>;
    try {
      call = handler(this.service, body);
    } catch (err) {
      call = Promise.reject(err);
    }
    call
      .then(
        (ok) => this.respond(frame.correlationId, frame.apiKey, { ok: ok ?? null }),
        (err) => {
          if (!(err instanceof TributaryError)) {
            this.log.error(
              { event: "request-error", api: API_NAMES.get(frame.apiKey), err },
              "request failed inside the service",
            );
          }
          this.respond(frame.correlationId, frame.apiKey, { error: errorToWire(err) });
        },
      )
      .finally(() => {
        this.inFlight--;
        if (this.inFlight === this.options.maxInFlight - 1 && !this.closing) this.socket.resume();
        if (this.inFlight === 0 && this.drained !== undefined) this.drained();
      });
  }

  private handshake(frame: Frame): void {
    try {
      if (frame.apiKey !== ApiKey.Handshake) {
        throw new ProtocolError(
          "AUTHENTICATION_FAILED",
          `the first request must be a handshake (api key 0), got api key ${frame.apiKey}`,
        );
      }
      const body = requestBody(unpackBody(frame.body));
      if (body.version !== PROTOCOL_VERSION) {
        throw new ProtocolError(
          "UNKNOWN_REQUEST",
          `protocol version ${String(body.version)} is not supported: this broker speaks version ${PROTOCOL_VERSION}`,
        );
      }
      if (this.options.tokenDigest !== undefined) {
        const given = typeof body.token === "string" ? body.token : "";
        // Digests have a fixed length, so the comparison time says nothing about the token.
        const digest = createHash("sha256").update(given).digest();
        if (given === "" || !timingSafeEqual(digest, this.options.tokenDigest)) {
          throw new ProtocolError(
            "AUTHENTICATION_FAILED",
            given === ""
              ? "this broker requires a token: pass the contents of its --token-file"
              : "wrong token: pass the contents of the broker's --token-file",
          );
        }
      }
      if (typeof body.clientId === "string") this.clientId = body.clientId;
      if (typeof body.maxFrameBytes === "number" && body.maxFrameBytes >= 1024) {
        this.responseLimit = Math.min(this.responseLimit, body.maxFrameBytes);
      }
      this.handshaken = true;
      this.decoder.setMaxFrameBytes(this.options.maxFrameBytes);
      const response: HandshakeResponse = {
        version: PROTOCOL_VERSION,
        maxFrameBytes: this.options.maxFrameBytes,
      };
      this.respond(frame.correlationId, ApiKey.Handshake, { ok: response });
    } catch (err) {
      this.fatal(err, frame.correlationId);
    }
  }

  private respond(correlationId: number, apiKey: number, body: unknown): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    let { chunks, length } = encodeBody(apiKey, body);
    if (FRAME_HEADER_BYTES + length > this.responseLimit) {
      const bytes = packBody({
        error: errorToWire(
          new ProtocolError(
            "FRAME_TOO_LARGE",
            `response of ${length} bytes exceeds the frame limit of ${this.responseLimit}: fetch fewer bytes (maxBytes) or raise --max-frame-bytes on both ends`,
          ),
        ),
      });
      chunks = [bytes];
      length = bytes.length;
    }
    // Answers completed in one tick leave in one writev.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.socket.write(encodeFrameHeader(correlationId, apiKey, length));
    for (const chunk of chunks) this.socket.write(chunk);
  }

  private readonly uncork = () => {
    this.corked = false;
    this.socket.uncork();
  };

  /** A connection-level error: tell the client why, then close; other connections go on. */
  private fatal(err: unknown, correlationId: number): void {
    if (this.closing) return;
    const wire = errorToWire(err);
    this.log.warn(
      { event: "protocol-error", code: wire.code, message: wire.message },
      wire.message,
    );
    this.respond(correlationId, ApiKey.Error, { error: wire });
    this.closing = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}
