import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqual } from "node:crypto";
import type { LogClient } from "@tributary/log";
import { QueryError, StreamsArgumentError } from "../errors.js";
import {
  DEFAULT_QUERY_LIMIT,
  MAX_QUERY_BODY_BYTES,
  MAX_QUERY_LIMIT,
  QUERY_OPS,
  QUERY_STATUS,
  type QueryAnswer,
  type QueryFailure,
  type QueryOp,
  type QueryPart,
  type QueryRequest,
  type WireEntry,
  jsonSafe,
} from "../query/query-protocol.js";
import {
  keyBytesOf,
  PartitionCounts,
  type RoutedStore,
  routedStore,
} from "../query/store-routing.js";
import type { Topology } from "../topology/topology.js";
import type { LocalStoreRegistry } from "./local-store-registry.js";
import { type ReadEntry, LocalStoreReader, type ReadResult } from "./local-store-reader.js";

export interface QueryServerOptions {
  /** Where to listen: "host:port"; port 0 picks a free one. Default "127.0.0.1:0". */
  listen?: string;
  /**
   * Requests must carry `Authorization: Bearer <secret>`. Required when listening on a
   * non-loopback address (a worker refuses to serve its state to the network unguarded).
   */
  secret?: string;
}

/**
 * Serves a worker's local stores over HTTP (the format in query/query-protocol.ts). It is
 * responsible for:
 * - refusing what is malformed, too large or unauthenticated with a coded error, before
 *   it touches a store (the body is counted as it arrives, never buffered past the limit);
 * - finding the task that holds the key's partition here, or saying it is elsewhere
 *   (NOT_OWNER, with the partition) or restoring here (STORE_NOT_READY);
 * - reading through LocalStoreReader, which leaves the tasks' processing undisturbed.
 * A failure of one request is answered to that request; nothing a client sends can stop
 * the worker.
 */
export class QueryServer {
  private server: http.Server | null = null;
  private readonly partitions: PartitionCounts;
  private readonly secret: Buffer | null;
  url = "";

  constructor(
    private readonly topology: Topology,
    private readonly registry: LocalStoreRegistry,
    log: LogClient,
    private readonly options: QueryServerOptions = {},
  ) {
    this.partitions = new PartitionCounts(log);
    this.secret = options.secret === undefined ? null : Buffer.from(options.secret);
  }

  async start(): Promise<string> {
    const { host, port } = parseListen(this.options.listen ?? "127.0.0.1:0");
    if (this.secret === null && !isLoopback(host)) {
      throw new StreamsArgumentError(
        `the query server would serve the app's state on ${host}, beyond this machine, without a secret: give one (TRIBUTARY_QUERY_SECRET, or query.secret), or listen on 127.0.0.1`,
      );
    }
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((e) => this.fail(res, e));
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
    this.url = `http://${shown}:${address.port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!this.authorized(req.headers.authorization)) {
      req.resume();
      throw new QueryError(
        "UNAUTHORIZED",
        "this worker's queries need `Authorization: Bearer <secret>` with its query secret (TRIBUTARY_QUERY_SECRET)",
      );
    }
    const { store, op } = parsePath(req.method, req.url);
    const body = await readBody(req);
    const request = parseRequest(body);
    const routed = routedStore(this.topology, store);
    const answer = await this.answer(routed, op, request);
    send(res, 200, answer);
  }

  private authorized(header: string | undefined): boolean {
    if (this.secret === null) return true;
    if (header === undefined || !header.startsWith("Bearer ")) return false;
    const given = Buffer.from(header.slice(7));
    return given.length === this.secret.length && timingSafeEqual(given, this.secret);
  }

  private async answer(routed: RoutedStore, op: QueryOp, r: QueryRequest): Promise<QueryAnswer> {
    const { spec, sub } = routed;
    const limit = r.limit ?? DEFAULT_QUERY_LIMIT;
    const timeFrom = r.timeFrom ?? 0;
    const timeTo = r.timeTo ?? Number.MAX_SAFE_INTEGER;
    if (op === "get" || op === "fetch") {
      if (r.key === undefined)
        throw new QueryError(
          "BAD_REQUEST",
          `'${op}' needs a key: a body { "key": { "json": <key> } } or { "key": { "b64": <serialized key> } }`,
        );
      const key = keyBytesOf(spec, r.key);
      const partition = await this.partitions.partitionOf(sub, key);
      const taskId = sub.taskId(partition);
      const task = this.registry.task(taskId);
      const standby = r.allowStale === true ? this.registry.standby(taskId) : undefined;
      if (task === undefined && standby !== undefined) {
        // allowStale: this worker keeps a standby copy of the key's task
        const bytes = standby.bytesOf(taskId, spec.name);
        if (bytes !== undefined) {
          const lag = standby.lagOf(taskId) ?? 0;
          const reader = await LocalStoreReader.ofStandby(spec, bytes);
          const read =
            op === "get" ? await reader.get(key) : await reader.fetch(key, timeFrom, timeTo, limit);
          return { ...this.render(routed, read, partition), stale: true, lag };
        }
      }
      if (task === undefined) {
        const restoring = this.registry.isRestoring(taskId);
        throw new QueryError(
          restoring ? "STORE_NOT_READY" : "NOT_OWNER",
          restoring
            ? `store '${spec.name}' of task ${taskId} is restoring on this worker: try again shortly`
            : `partition ${partition} of store '${spec.name}' (task ${taskId}) is not on this worker`,
          { taskId, partition },
        );
      }
      const reader = new LocalStoreReader(spec, task.stores.get(spec.name)!);
      const read =
        op === "get" ? await reader.get(key) : await reader.fetch(key, timeFrom, timeTo, limit);
      return this.render(routed, read, partition);
    }
    // range and all: every task of the store on this worker; the client merges workers
    const from = r.from === undefined ? undefined : keyBytesOf(spec, r.from, "from");
    const to = r.to === undefined ? undefined : keyBytesOf(spec, r.to, "to");
    const parts: QueryPart[] = [];
    for (const task of this.registry.tasksOf(sub.id)) {
      const reader = new LocalStoreReader(spec, task.stores.get(spec.name)!);
      const read =
        op === "all"
          ? await reader.all(timeFrom, timeTo, limit)
          : await reader.range(from, to, limit);
      parts.push({
        taskId: task.id,
        partition: task.partition,
        entries: this.wire(routed, read.entries),
        truncated: read.truncated,
      });
    }
    if (r.allowStale === true) parts.push(...(await this.standbyParts(routed, op, r, from, to)));
    return {
      partition: null,
      entries: [],
      truncated: false,
      partitions: await this.partitions.of(sub),
      parts,
    };
  }

  /** Scans of the standby copies of the store's tasks kept here (allowStale). */
  private async standbyParts(
    routed: RoutedStore,
    op: QueryOp,
    r: QueryRequest,
    from: Buffer | undefined,
    to: Buffer | undefined,
  ): Promise<QueryPart[]> {
    const { spec, sub } = routed;
    const prefix = `${sub.id}_`;
    const parts: QueryPart[] = [];
    for (const taskId of this.registry.standbyIds()) {
      if (!taskId.startsWith(prefix) || this.registry.task(taskId) !== undefined) continue;
      const standby = this.registry.standby(taskId);
      const bytes = standby?.bytesOf(taskId, spec.name);
      if (standby === undefined || bytes === undefined) continue;
      const lag = standby.lagOf(taskId) ?? 0;
      const reader = await LocalStoreReader.ofStandby(spec, bytes);
      const limit = r.limit ?? DEFAULT_QUERY_LIMIT;
      const read =
        op === "all"
          ? await reader.all(r.timeFrom ?? 0, r.timeTo ?? Number.MAX_SAFE_INTEGER, limit)
          : await reader.range(from, to, limit);
      parts.push({
        taskId,
        partition: Number(taskId.slice(prefix.length)),
        entries: this.wire(routed, read.entries),
        truncated: read.truncated,
        stale: true,
        lag,
      });
    }
    return parts;
  }

  private render(routed: RoutedStore, read: ReadResult, partition: number): QueryAnswer {
    return { partition, entries: this.wire(routed, read.entries), truncated: read.truncated };
  }

  private wire(routed: RoutedStore, read: readonly ReadEntry[]): WireEntry[] {
    const { keySerde, valueSerde } = routed.spec;
    return read.map((e: ReadEntry): WireEntry => {
      const w: WireEntry = {
        k: e.k.toString("base64"),
        v: e.v.toString("base64"),
        key: jsonSafe(keySerde.deserialize(e.k)),
        value: jsonSafe(valueSerde.deserialize(e.v)),
      };
      if (e.start !== undefined) w.start = e.start;
      if (e.end !== undefined) w.end = e.end;
      return w;
    });
  }

  private fail(res: http.ServerResponse, e: unknown): void {
    const err =
      e instanceof QueryError
        ? e
        : new QueryError(
            isClosedStore(e) ? "STORE_NOT_READY" : "QUERY_FAILED",
            isClosedStore(e)
              ? "the store closed while it was read (its task is moving): try again shortly"
              : `query failed on this worker: ${e instanceof Error ? e.message : String(e)}`,
          );
    const failure: QueryFailure = {
      error: {
        code: err.code,
        message: err.message,
        retriable: err.retriable,
        ...(err.taskId === undefined ? {} : { taskId: err.taskId }),
        ...(err.partition === undefined ? {} : { partition: err.partition }),
      },
    };
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // a body left unread (too large, refused) is not drained: the connection closes
    res.setHeader("connection", "close");
    send(res, QUERY_STATUS[err.code], failure);
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function parseListen(listen: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  const port = m === null ? Number.NaN : Number(m[2]);
  if (m === null || !(port >= 0 && port <= 65535)) {
    throw new StreamsArgumentError(
      `query address '${listen}' is not host:port (e.g. 127.0.0.1:0, port 0 picks a free one)`,
    );
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

function parsePath(
  method: string | undefined,
  url: string | undefined,
): { store: string; op: QueryOp } {
  const m = /^\/v1\/stores\/([^/?]+)\/([a-z]+)(?:\?.*)?$/.exec(url ?? "");
  if (m === null) {
    throw new QueryError(
      "BAD_REQUEST",
      `no such query path '${(url ?? "").slice(0, 200)}': POST /v1/stores/<store>/<${QUERY_OPS.join("|")}>`,
    );
  }
  let store: string;
  try {
    store = decodeURIComponent(m[1]!);
  } catch {
    throw new QueryError(
      "BAD_REQUEST",
      `the store name in '${url!.slice(0, 200)}' is not valid percent-encoding`,
    );
  }
  const op = m[2] as QueryOp;
  if (!QUERY_OPS.includes(op)) {
    throw new QueryError("BAD_REQUEST", `unknown query '${op}': one of ${QUERY_OPS.join(", ")}`);
  }
  if (method !== "POST") {
    throw new QueryError(
      "BAD_REQUEST",
      `queries are POST requests with a JSON body, got ${method}`,
    );
  }
  return { store, op };
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_QUERY_BODY_BYTES) throw tooLarge(declared);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_QUERY_BODY_BYTES) throw tooLarge(size);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function tooLarge(size: number): QueryError {
  return new QueryError(
    "REQUEST_TOO_LARGE",
    `query body of ${size} bytes or more is over the limit of ${MAX_QUERY_BODY_BYTES}: keys this large are not queryable`,
  );
}

function parseRequest(body: Buffer): QueryRequest {
  if (body.length === 0) return {};
  let r: unknown;
  try {
    r = JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw new QueryError("BAD_REQUEST", `the query body is not JSON: ${(e as Error).message}`);
  }
  if (r === null || typeof r !== "object" || Array.isArray(r)) {
    throw new QueryError("BAD_REQUEST", "the query body must be a JSON object");
  }
  const q = r as Record<string, unknown>;
  for (const f of ["timeFrom", "timeTo"] as const) {
    if (q[f] !== undefined && !(Number.isSafeInteger(q[f]) && (q[f] as number) >= 0)) {
      throw new QueryError(
        "BAD_REQUEST",
        `${f} must be a time in ms >= 0, got ${JSON.stringify(q[f])}`,
      );
    }
  }
  const limit = q.limit;
  if (
    limit !== undefined &&
    !(Number.isSafeInteger(limit) && (limit as number) >= 1 && (limit as number) <= MAX_QUERY_LIMIT)
  ) {
    throw new QueryError(
      "BAD_REQUEST",
      `limit must be an integer from 1 to ${MAX_QUERY_LIMIT}, got ${JSON.stringify(limit)}`,
    );
  }
  if (q.allowStale !== undefined && typeof q.allowStale !== "boolean") {
    throw new QueryError(
      "BAD_REQUEST",
      `allowStale must be true or false, got ${JSON.stringify(q.allowStale)}`,
    );
  }
  for (const f of ["key", "from", "to"] as const) {
    const k = q[f];
    if (k !== undefined && (k === null || typeof k !== "object" || !("json" in k || "b64" in k))) {
      throw new QueryError("BAD_REQUEST", `${f} must be { "json": <key> } or { "b64": <bytes> }`);
    }
  }
  return q as QueryRequest;
}

function isClosedStore(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "CLOSED" || code === "STORE_CLOSED";
}
