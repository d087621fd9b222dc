import type { QueryErrorCode } from "../errors.js";

/*
 * Interactive query wire format (HTTP/1.1 on the worker's query address, JSON, UTF-8):
 *
 *   POST /v1/stores/<store>/<op>          op => get | range | all | fetch
 *   Authorization: Bearer <secret>        when the worker has a query secret
 *
 *   QueryRequest => { key?: KeyParam, from?: KeyParam, to?: KeyParam,
 *                     timeFrom?: ms, timeTo?: ms, limit?: int, allowStale?: bool }
 *   KeyParam     => { json: any }          the key as JSON, encoded by the store's key serde
 *                 | { b64: string }       the key's serialized bytes, base64
 *
 *   200 QueryAnswer  => { partition: int | null, entries: [Entry], truncated: bool,
 *                         partitions?: int, parts?: [Part], stale?: bool, lag?: int }
 *   Part             => { taskId: string, partition: int, entries: [Entry], truncated: bool }
 *   Entry            => { k: base64, v: base64, key: any, value: any,
 *                         start?: ms, end?: ms }     window: start; session: start, end
 *   4xx/5xx Failure  => { error: { code: QueryErrorCode, message: string,
 *                                  retriable: bool, taskId?: string, partition?: int } }
 *
 * `get` and `fetch` answer for the key's partition (`partition`, `entries`); `range` and
 * `all` answer one Part per task of the store on the worker, and `partitions`, how many
 * the store has, so a client that asked every worker knows when it has them all. `get`
 * answers zero or one entry; `range` is from <= key <= to in serialized-key byte
 * order; `fetch` is one key's windows (start in [timeFrom, timeTo]) or sessions (ending
 * at or after timeFrom, starting at or before timeTo); `all` every entry (window and
 * session stores: within the time bounds). `k` and `v` are the stored bytes (a typed
 * client decodes them with the app's serdes); `key` and `value` are the same decoded by
 * the worker and rendered as JSON (bigint as a string, bytes as base64).
 *
 * `allowStale` (get and fetch): a worker that does not run the key's task but keeps a
 * standby copy of it answers from that copy, with `stale: true` and `lag`, the changelog
 * records the copy is behind. Without it only the active task answers. `range` and `all`
 * with `allowStale`: a worker adds a Part (`stale: true`, `lag`) for each task of the store
 * it keeps a standby copy of; a client uses it only for a partition no active task
 * answered.
 */

/** Bodies past this are refused (413) before they are read in full. */
export const MAX_QUERY_BODY_BYTES = 64 * 1024;
/** Default and largest `limit`: entries one worker returns for one request. */
export const DEFAULT_QUERY_LIMIT = 10_000;
export const MAX_QUERY_LIMIT = 100_000;

export type QueryOp = "get" | "range" | "all" | "fetch";
export const QUERY_OPS: readonly QueryOp[] = ["get", "range", "all", "fetch"];

export type KeyParam = { json: unknown } | { b64: string };

export interface QueryRequest {
  key?: KeyParam;
  from?: KeyParam;
  to?: KeyParam;
  timeFrom?: number;
  timeTo?: number;
  limit?: number;
  allowStale?: boolean;
}

export interface WireEntry {
  k: string;
  v: string;
  key: unknown;
  value: unknown;
  start?: number;
  end?: number;
}

export interface QueryAnswer {
  partition: number | null;
  entries: WireEntry[];
  truncated: boolean;
  partitions?: number;
  parts?: QueryPart[];
  /** Answered by a standby copy (allowStale): may be behind by `lag` changelog records. */
  stale?: boolean;
  lag?: number;
}

export interface QueryPart {
  taskId: string;
  partition: number;
  entries: WireEntry[];
  truncated: boolean;
  /** allowStale: read from this worker's standby copy of the task, `lag` records behind. */
  stale?: boolean;
  lag?: number;
}

export interface QueryFailure {
  error: {
    code: QueryErrorCode;
    message: string;
    retriable: boolean;
    taskId?: string;
    partition?: number;
  };
}

/** HTTP status of each error code. */
export const QUERY_STATUS: Record<QueryErrorCode, number> = {
  BAD_REQUEST: 400,
  BAD_KEY: 400,
  UNAUTHORIZED: 401,
  UNKNOWN_STORE: 404,
  UNKNOWN_APP: 404,
  REQUEST_TOO_LARGE: 413,
  NOT_OWNER: 421,
  QUERY_FAILED: 500,
  STORE_NOT_READY: 503,
  // never served: a closed client refuses before it sends
  CLIENT_CLOSED: 400,
};

/** A value as JSON can carry it: bigint as a decimal string, bytes as base64. */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, jsonSafe(v)]));
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonSafe(v);
    return out;
  }
  return value;
}
