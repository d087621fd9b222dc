import type { Socket } from "node:net";
import type { Logger } from "pino";
import { InvalidArgumentError, ProtocolError, TributaryError } from "../errors.js";
import type { LogService } from "../client/log-service.js";
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
import { type RequestHandler, requestBody, requestHandler } from "./request-dispatch.js";
import { encodeBody } from "./body-chunks.js";
import type { BrokerMetrics } from "./broker-metrics.js";
import { transferredBytes } from "./transferred-bytes.js";
import { ANONYMOUS, type BrokerSecurity } from "./broker-security.js";
import { isDescriptorExhaustion } from "./descriptor-limit.js";
import type { QuotaManager } from "./quota-manager.js";
import { authorizeRequest, filterListAnswer } from "./request-authorization.js";
import type { ScramServer } from "../security/scram.js";
import { beginLogin, checkHandshake, finishLogin } from "./connection-login.js";
import { type PricedRequest, RequestBudget } from "./request-budget.js";

export interface ServerConnectionOptions {
  /** sha256 of the token clients must present, or undefined for no authentication. */
  tokenDigest: Buffer | undefined;
  maxFrameBytes: number;
  /** Reading pauses while this many requests are being served (backpressure). */
  maxInFlight: number;
  /** Reading pauses while answers not yet sent, plus reservations, exceed this (see below). */
  maxBufferedBytes: number;
  /** A connection with nothing in flight and no byte moved for this long is closed. 0: never. */
  idleTimeoutMs: number;
  /** A connection that has not shaken hands this long after it opened is closed. */
  handshakeTimeoutMs: number;
  /** Called when a request failed because descriptors ran out; returns the advice to log. */
  descriptorAdvice: () => string;
  logger: Logger;
  /** Logins and ACLs (tributary broker --acls); undefined: every request is allowed. */
  security?: BrokerSecurity;
  /** Requests served by the broker itself rather than the log (the security admin ones). */
  brokerHandlers?: ReadonlyMap<number, RequestHandler>;
  /** Per-principal byte rates: answers over the rate are held back. */
  quotas?: QuotaManager;
  metrics?: BrokerMetrics;
}

interface Request extends PricedRequest {
  frame: Frame;
  handler: RequestHandler;
  body: Record<string, unknown>;
}

/** Answered (not fatal: the connection stays good) when a client shakes hands twice. */
const secondHandshake: RequestHandler = () =>
  Promise.reject(
    new InvalidArgumentError(
      "this connection has already shaken hands: the handshake is only the first request; reconnect to present another token or client id",
    ),
  );

/**
 * One client connection on the broker. Responsibilities:
 * - cut the byte stream into frames and refuse bad ones (error frame, then close);
 * - require a handshake first (version, and the token when the broker has one), within
 *   `handshakeTimeoutMs`;
 * - run requests concurrently and answer each as it completes, so a long-poll fetch never
 *   holds up a produce behind it;
 * - bound what it buffers for a client (see `admits`): a client that sends requests and
 *   never reads their answers stops being read, instead of making the broker hold every
 *   answer;
 * - close itself after `idleTimeoutMs` without traffic (nothing in flight), or when its
 *   unsent answers make no progress that long;
 * - drain: on shutdown, stop reading, finish what is in flight, then close.
 *
 * It does not touch group membership when the socket closes: a member that vanishes is
 * removed by its session timeout, as in Kafka, unless it sent LeaveGroup.
 */
export class ServerConnection {
  private readonly decoder: FrameDecoder;
  private handshaken = false;
  private closing = false;
  private requests = 0;
  private clientId: string | undefined;
  /** The smaller of our and the client's frame limit: responses must fit both. */
  private responseLimit: number;
  private drained: (() => void) | undefined;
  /** The socket is corked until the end of this tick (see respond). */
  private corked = false;
  /** Frames read but not started: the budget was spent when they arrived. */
  private readonly waiting: Request[] = [];
  private readonly budget: RequestBudget;
  private readingPaused = false;
  private pauseLogged = false;
  private readonly handshakeTimer: NodeJS.Timeout | undefined;
  /** Who this connection acts for: User:<name> after a SCRAM login, else User:ANONYMOUS. */
  private principal = ANONYMOUS;
  /** Set between a handshake that named a mechanism and its SaslAuthenticate. */
  private scram: ScramServer | undefined;
  /** Reading stays paused until then: a quota holds this client back (Kafka mutes it). */
  private throttledUntil = 0;
  /** Wakes the connection when a throttle ends (nothing else would, with reading paused). */
  private throttleWake: NodeJS.Timeout | undefined;
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
    this.budget = new RequestBudget(options.maxBufferedBytes, options.maxInFlight);
    const remote =
      socket.remoteAddress === undefined ? "local" : `${socket.remoteAddress}:${socket.remotePort}`;
    this.log = options.logger.child({ remote });
    this.log.info({ event: "connection-open" }, "connection opened");
    socket.setNoDelay(true);
    let socketError: string | undefined;
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.pump());
    socket.on("error", (err) => {
      socketError = err.message;
    });
    if (options.idleTimeoutMs > 0) {
      socket.setTimeout(options.idleTimeoutMs);
      socket.on("timeout", () => this.onIdle());
    }
    this.handshakeTimer = setTimeout(() => {
      this.fatal(
        new ProtocolError(
          "TIMEOUT",
          `no handshake within ${options.handshakeTimeoutMs} ms of connecting: a client must send its handshake first`,
        ),
        0,
      );
    }, options.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.closing = true;
        clearTimeout(this.handshakeTimer);
        this.waiting.length = 0;
        this.log.info(
          {
            event: "connection-close",
            clientId: this.clientId,
            requests: this.requests,
            inFlight: this.budget.inFlight,
            partialFrameBytes: this.decoder.bufferedBytes,
            unsentBytes: socket.writableLength,
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
    this.waiting.length = 0;
    this.socket.pause();
    if (this.budget.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
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
      if (this.scram === undefined) this.handshake(frame);
      else this.authenticate(frame);
      return;
    }
    let request: Request;
    try {
      request = this.parse(frame);
    } catch (err) {
      this.fatal(err, frame.correlationId);
      return;
    }
    this.waiting.push(request);
    this.pump();
  }

  /** Decodes a request and prices it for the budget (see pump). */
  private parse(frame: Frame): Request {
    const handler =
      frame.apiKey === ApiKey.Handshake
        ? secondHandshake
        : (this.options.brokerHandlers?.get(frame.apiKey) ?? requestHandler(frame.apiKey));
    const body = requestBody(unpackBody(frame.body));
    const isFetch = frame.apiKey === ApiKey.Fetch;
    const reserved = RequestBudget.price(isFetch, body, frame.body.length, this.responseLimit);
    return { frame, handler, body, isFetch, reserved };
  }

  /** No byte in or out for idleTimeoutMs (Node re-arms the timer on every read and write). */
  private onIdle(): void {
    if (this.closing) return;
    if (this.budget.inFlight > 0 && this.socket.writableLength === 0) {
      // Waiting on the service (a long poll, a join in a rebalance), not on the client.
      this.socket.setTimeout(this.options.idleTimeoutMs);
      return;
    }
    const stalled = this.socket.writableLength > 0;
    this.log.info(
      {
        event: "idle-close",
        unsentBytes: this.socket.writableLength,
        inFlight: this.budget.inFlight,
      },
      stalled
        ? `closing a connection whose client read none of its ${this.socket.writableLength} unsent answer bytes for ${this.options.idleTimeoutMs} ms`
        : `closing a connection idle for ${this.options.idleTimeoutMs} ms (connections.max.idle.ms)`,
    );
    this.closing = true;
    this.waiting.length = 0;
    this.socket.destroy();
  }

  /**
   * Starts waiting requests while the budget (RequestBudget) allows, and stops reading the
   * socket while it does not, so a client that never reads its answers fills its own TCP
   * window instead of the broker's memory. A well-behaved client that reads its answers
   * keeps pipelining: the budget only binds when answers pile up.
   */
  private pump(): void {
    while (this.waiting.length > 0 && !this.closing) {
      const request = this.waiting[0]!;
      if (!this.admits(request)) break;
      this.waiting.shift();
      this.start(request);
    }
    const blocked = this.waiting.length > 0 || this.throttledUntil > Date.now();
    if (blocked && !this.readingPaused && !this.closing) {
      this.readingPaused = true;
      this.socket.pause();
      if (!this.pauseLogged) {
        // Once per connection: a client that pipelines hard pauses often, and that is fine.
        this.pauseLogged = true;
        this.log.info(
          {
            event: "reading-paused",
            unsentBytes: this.socket.writableLength,
            inFlight: this.budget.inFlight,
            reservedBytes: this.budget.reservedBytes,
          },
          "stopped reading this client until it reads its answers (max buffered bytes per connection)",
        );
      }
    } else if (!blocked && this.readingPaused && !this.closing) {
      this.readingPaused = false;
      this.socket.resume();
    }
    // A throttled connection reads nothing and admits nothing until throttledUntil, and no
    // event would call pump then (the socket is paused; the held answer's timer can fire a
    // moment before Date.now() reaches throttledUntil): wake it at that time.
    const throttledFor = this.throttledUntil - Date.now();
    if (throttledFor > 0 && this.throttleWake === undefined && !this.closing) {
      this.throttleWake = setTimeout(() => {
        this.throttleWake = undefined;
        this.pump();
      }, throttledFor + 1);
      this.throttleWake.unref();
    }
  }

  private admits(r: Request): boolean {
    if (this.throttledUntil > Date.now()) return false;
    return this.budget.admits(r, this.socket.writableLength);
  }

  private start(r: Request): void {
    const { frame } = r;
    this.budget.begin(r);
    this.requests++;
    const started = performance.now();
    const security = this.options.security;
    let call: Promise<unknown>;
    try {
      if (security !== undefined) {
        authorizeRequest(security.authorizer, this.principal, frame.apiKey, r.body);
      }
      call = r.handler(this.service, r.body);
    } catch (err) {
      call = Promise.reject(err);
    }
    call
      .then(
        async (ok) => {
          const answer =
            security === undefined
              ? ok
              : filterListAnswer(security.authorizer, this.principal, frame.apiKey, ok);
          await this.throttle(frame.apiKey, r.body, answer);
          this.observe(frame.apiKey, started, "ok");
          this.respond(frame.correlationId, frame.apiKey, { ok: answer ?? null });
        },
        (err) => {
          const wire = this.requestError(frame.apiKey, err);
          this.observe(frame.apiKey, started, wire.code);
          this.respond(frame.correlationId, frame.apiKey, { error: wire });
        },
      )
      .finally(() => {
        this.budget.end(r);
        if (this.budget.inFlight === 0 && this.drained !== undefined) this.drained();
        this.pump();
      });
  }

  private observe(apiKey: number, started: number, outcome: string): void {
    this.options.metrics?.request(apiKey, (performance.now() - started) / 1000, outcome);
  }

  /**
   * Counts a produce's or fetch's bytes (metrics, quotas) and, when the principal is over
   * its quota, waits before the answer goes out, with reading paused meanwhile: a
   * throttled client slows down instead of getting an error, as with Kafka's quotas.
   */
  private async throttle(
    apiKey: number,
    body: Record<string, unknown>,
    answer: unknown,
  ): Promise<void> {
    const { quotas, metrics } = this.options;
    if (quotas === undefined && metrics === undefined) return;
    const { kind, bytes } = transferredBytes(apiKey, body, answer, metrics);
    if (kind === undefined || quotas === undefined) return;
    const delay = quotas.record(this.principal, kind, bytes);
    if (delay <= 0) return;
    this.throttledUntil = Math.max(this.throttledUntil, Date.now() + delay);
    this.pump();
    await new Promise<void>((resolve) => setTimeout(resolve, delay).unref());
  }

  private requestError(apiKey: number, err: unknown): ReturnType<typeof errorToWire> {
    const wire = errorToWire(err);
    if (isDescriptorExhaustion(err)) {
      const advice = this.options.descriptorAdvice();
      this.log.error(
        { event: "descriptors-exhausted", api: API_NAMES.get(apiKey), err },
        `${API_NAMES.get(apiKey)} failed: ${advice}`,
      );
      return { ...wire, message: `${wire.message}; ${advice}` };
    }
    if (!(err instanceof TributaryError)) {
      this.log.error(
        { event: "request-error", api: API_NAMES.get(apiKey), err },
        "request failed inside the service",
      );
    }
    return wire;
  }

  private handshake(frame: Frame): void {
    try {
      const body = checkHandshake(frame, this.options.tokenDigest);
      if (typeof body.clientId === "string") this.clientId = body.clientId;
      if (typeof body.maxFrameBytes === "number" && body.maxFrameBytes >= 1024) {
        this.responseLimit = Math.min(this.responseLimit, body.maxFrameBytes);
      }
      if (body.mechanism !== undefined) {
        this.startLogin(frame, body);
        return;
      }
      this.handshaken = true;
      clearTimeout(this.handshakeTimer);
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

  /** A handshake that names a mechanism: answer SCRAM's server-first, then wait for the rest. */
  private startLogin(frame: Frame, body: Record<string, unknown>): void {
    const { scram, serverFirst } = beginLogin(this.options.security, body);
    this.scram = scram;
    const response: HandshakeResponse = {
      version: PROTOCOL_VERSION,
      maxFrameBytes: this.options.maxFrameBytes,
      saslMessage: serverFirst,
    };
    this.respond(frame.correlationId, ApiKey.Handshake, { ok: response });
  }

  /** SCRAM's client-final: on a good proof the connection acts as User:<name> from now on. */
  private authenticate(frame: Frame): void {
    try {
      const { serverFinal, user } = finishLogin(frame, this.scram!);
      this.principal = `User:${user}`;
      this.scram = undefined;
      this.handshaken = true;
      clearTimeout(this.handshakeTimer);
      this.decoder.setMaxFrameBytes(this.options.maxFrameBytes);
      this.log.info({ event: "login", principal: this.principal }, "client logged in");
      this.respond(frame.correlationId, ApiKey.SaslAuthenticate, {
        ok: { saslMessage: serverFinal },
      });
    } catch (err) {
      this.log.warn({ event: "login-failed", err: (err as Error).message }, "login failed");
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
