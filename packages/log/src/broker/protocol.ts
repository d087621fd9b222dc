import { Packr } from "msgpackr";
import {
  AuthenticationError,
  AuthorizationError,
  ClosedError,
  CorruptRecordError,
  DataDirLockedError,
  type ErrorCode,
  ErrorCodes,
  GroupError,
  InvalidArgumentError,
  InvalidConfigError,
  InvalidNameError,
  OffsetOutOfRangeError,
  ProtocolError,
  RecordTooLargeError,
  UnsupportedCompressionError,
  OutOfOrderSequenceError,
  ProducerFencedError,
  SerdeDecodeError,
  SerdeEncodeError,
  TopicExistsError,
  TributaryError,
  UnknownTopicError,
} from "../errors.js";

/**
 * The broker protocol: what goes inside a frame (frame-codec.ts).
 *
 *   Request   => Frame(correlationId, apiKey, body = msgpack(RequestBody[apiKey]))
 *   Response  => Frame(correlationId, apiKey, body = msgpack(ResponseBody))
 *   ResponseBody => { ok: result } | { error: WireError }
 *   ErrorFrame   => Frame(correlationId of the offending frame or 0, apiKey = 255,
 *                         body = msgpack({ error: WireError })); the sender closes after it
 *   WireError => { code: ErrorCode, message: string, name?: string, retriable?: boolean,
 *                  details?: map }   (details: the error's own fields, e.g. topic, offset)
 *
 * A connection starts with one Handshake request: { version, token?, clientId? }, answered
 * with { version, maxFrameBytes }. Anything else first, a wrong version, a wrong token or
 * no handshake within the handshake deadline gets an ErrorFrame and the connection closes;
 * a second Handshake gets an INVALID_ARGUMENT answer. A connection over the broker's
 * connection limits gets an ErrorFrame with correlationId 0 before it sends anything.
 *
 * Every other request is one LogService method; its body holds the method's arguments by
 * name (see RequestBodies below) and its `ok` result is the method's return value. Produce
 * carries the encoded record batch as a msgpack bin field; a fetch result carries each
 * partition's stored batches as bin, exactly as read from disk. Msgpack is packed with
 * `useRecords: false`, so any msgpack implementation can speak it.
 *
 * Requests are pipelined: a client may send many before the first answer, and answers
 * come back in completion order, matched by correlationId.
 */
export const PROTOCOL_VERSION = 1;

export const ApiKey = {
  Handshake: 0,
  CreateTopic: 1,
  DeleteTopic: 2,
  ListTopics: 3,
  DescribeTopic: 4,
  PartitionCount: 5,
  ListOffsets: 6,
  Produce: 7,
  Fetch: 8,
  JoinGroup: 9,
  Heartbeat: 10,
  LeaveGroup: 11,
  CommitOffsets: 12,
  FetchOffsets: 13,
  ListGroups: 14,
  DescribeGroup: 15,
  ResetOffsets: 16,
  DeleteGroup: 17,
  /** The second SCRAM message of a handshake that named a mechanism (security.ts). */
  SaslAuthenticate: 18,
  CreateAcls: 19,
  DeleteAcls: 20,
  DescribeAcls: 21,
  UpsertUser: 22,
  DeleteUser: 23,
  ListUsers: 24,
  /**
   * { transactionalId?, transactionTimeoutMs? } → { producerId, producerEpoch }: a new
   * idempotent producer id, or a transactional id's id with a new epoch (Kafka's InitProducerId).
   */
  InitProducerId: 25,
  /** { transactionalId, producerId, producerEpoch, partitions } → null (Kafka's AddPartitionsToTxn). */
  AddPartitionsToTxn: 26,
  /**
   * { transactionalId, producerId, producerEpoch, groupId, memberId, generation,
   *   groupInstanceId?, offsets } → null (Kafka's AddOffsetsToTxn + TxnOffsetCommit).
   */
  TxnOffsetCommit: 27,
  /** { transactionalId, producerId, producerEpoch, commit } → null (Kafka's EndTxn). */
  EndTxn: 28,
  /** Server → client only: a connection-level error, after which the server closes. */
  Error: 255,
} as const;

export type ApiKeyValue = (typeof ApiKey)[keyof typeof ApiKey];

export const API_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(ApiKey).map(([name, key]) => [key, name]),
);

/**
 * With `mechanism: "SCRAM-SHA-256"` the handshake carries SCRAM's client-first message in
 * `saslMessage` and its answer the server-first; the client then sends SaslAuthenticate
 * { saslMessage: client-final } and gets { saslMessage: server-final }. Only then may it
 * send other requests, as the principal "User:<name>". Without a mechanism the principal
 * is "User:ANONYMOUS".
 */
export interface HandshakeRequest {
  version: number;
  token?: string;
  clientId?: string;
  mechanism?: string;
  saslMessage?: string;
}

export interface HandshakeResponse {
  version: number;
  maxFrameBytes: number;
  saslMessage?: string;
}

export interface WireError {
  code: string;
  message: string;
  name?: string;
  retriable?: boolean;
  details?: Record<string, unknown>;
}

export type ResponseBody =
  | { ok: unknown; error?: undefined }
  | { ok?: undefined; error: WireError };

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export function packBody(value: unknown): Buffer {
  return packr.pack(value);
}

/** Throws ProtocolError("MALFORMED_FRAME") when the body is not one msgpack value. */
export function unpackBody(body: Buffer): unknown {
  try {
    return packr.unpack(body);
  } catch (err) {
    throw new ProtocolError(
      "MALFORMED_FRAME",
      `frame body is not valid msgpack (${(err as Error).message}): the peer does not speak this protocol version`,
      { cause: err },
    );
  }
}

const ERROR_CLASSES: Record<string, { prototype: TributaryError }> = {
  TributaryError,
  InvalidNameError,
  UnknownTopicError,
  TopicExistsError,
  InvalidConfigError,
  InvalidArgumentError,
  OffsetOutOfRangeError,
  CorruptRecordError,
  RecordTooLargeError,
  UnsupportedCompressionError,
  OutOfOrderSequenceError,
  ProducerFencedError,
  SerdeDecodeError,
  SerdeEncodeError,
  DataDirLockedError,
  ClosedError,
  GroupError,
  ProtocolError,
  AuthenticationError,
  AuthorizationError,
};

const BASE_FIELDS = new Set(["code", "retriable", "name", "message", "stack", "cause"]);

/** What an error thrown by the service looks like on the wire. Unknown errors become INTERNAL. */
export function errorToWire(err: unknown): WireError {
  if (err instanceof TributaryError) {
    const details: Record<string, unknown> = {};
    let any = false;
    for (const [k, v] of Object.entries(err)) {
      if (BASE_FIELDS.has(k) || typeof v === "function") continue;
      details[k] = v;
      any = true;
    }
    return {
      code: err.code,
      message: err.message,
      name: err.name,
      retriable: err.retriable,
      ...(any ? { details } : {}),
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: "INTERNAL", message: `broker internal error: ${message}` };
}

/**
 * Rebuilds a wire error as the TributaryError subclass the service threw, with the same
 * message and fields, so a caller of the remote log can catch exactly what it would catch
 * from the embedded log (`instanceof UnknownTopicError`, `err.code`, `err.retriable`).
 */
export function errorFromWire(wire: unknown): TributaryError {
  if (wire === null || typeof wire !== "object") {
    return new ProtocolError("MALFORMED_FRAME", "broker sent an error without code and message");
  }
  const w = wire as Partial<WireError>;
  const code: ErrorCode = (ErrorCodes as readonly string[]).includes(w.code ?? "")
    ? (w.code as ErrorCode)
    : "INTERNAL";
  const message = typeof w.message === "string" ? w.message : `broker error ${String(w.code)}`;
  const err = new TributaryError(code, message, { retriable: w.retriable === true });
  const cls = typeof w.name === "string" ? ERROR_CLASSES[w.name] : undefined;
  if (cls !== undefined) {
    Object.setPrototypeOf(err, cls.prototype);
    err.name = w.name!;
  }
  if (w.details !== null && typeof w.details === "object") {
    for (const [k, v] of Object.entries(w.details)) {
      if (!BASE_FIELDS.has(k)) (err as unknown as Record<string, unknown>)[k] = v;
    }
  }
  return err;
}
