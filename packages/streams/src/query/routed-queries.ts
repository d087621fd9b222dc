import type { LogClient } from "@tributary/log";
import { QueryError, type QueryErrorCode } from "../errors.js";
import { readQueryEndpoints } from "./endpoint-directory.js";
import { QueryHttp } from "./query-http.js";
import type { QueryEndpoint } from "./query-endpoint.js";
import type {
  KeyParam,
  QueryAnswer,
  QueryFailure,
  QueryOp,
  QueryPart,
  QueryRequest,
  WireEntry,
} from "./query-protocol.js";

export interface RoutedQueriesOptions {
  /** The log the app runs on: where its workers advertise their query endpoints. */
  log: LogClient;
  /** The workers' query secret (default: TRIBUTARY_QUERY_SECRET from the environment,
   * read by the callers that build these options). */
  secret?: string;
  /**
   * How long a query keeps retrying while its key's worker is not known, not ready
   * (restoring) or moving (a rebalance), before it fails with the last error. Default
   * 30 s.
   */
  timeoutMs?: number;
  clientId?: string;
}

/** One entry of an answer: the stored bytes, and the worker's JSON rendering. */
export interface RoutedEntry {
  k: Buffer;
  v: Buffer;
  key: unknown;
  value: unknown;
  start?: number;
  end?: number;
}

export interface RoutedResult {
  entries: RoutedEntry[];
  /** Some worker stopped at the limit: entries past it are missing. */
  truncated: boolean;
  /** The key's partition (get and fetch). */
  partition: number | null;
  /** allowStale: answered by a standby copy, `lag` changelog records behind. */
  stale?: boolean;
  lag?: number;
}

/** Least time between two reads of the endpoints topic. */
const REFRESH_INTERVAL_MS = 200;
/** How long a worker that did not answer is passed over when another can answer. */
const UNREACHABLE_MS = 10_000;
/** Longest one HTTP request may take. */
const REQUEST_TIMEOUT_MS = 15_000;

/**
 * Queries an app's stores through its workers, untyped (keys as JSON or bytes): what
 * `tributary query` uses, and what the typed client (queryClient) is built on. It is
 * responsible for:
 * - finding the workers from their advertised endpoints, re-read when an answer says the
 *   picture moved;
 * - routing a key to the worker holding its task (a key given as JSON goes to any worker
 *   first, which names the key's partition if it is not there);
 * - fanning `range` and `all` out to every worker and merging the parts, one per task,
 *   in key-byte order, retrying until every partition of the store answered;
 * - retrying STORE_NOT_READY, NOT_OWNER and unreachable workers with backoff until
 *   `timeoutMs`, then throwing a QueryError that says what was last seen.
 */
export class RoutedQueries {
  private endpoints: QueryEndpoint[] = [];
  private refreshedAt = 0;
  private next = 0;
  /** url -> when it last failed to answer. */
  private readonly unreachable = new Map<string, number>();
  private readonly http = new QueryHttp();
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private closed = false;

  constructor(
    readonly applicationId: string,
    private readonly options: RoutedQueriesOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.headers = { "content-type": "application/json" };
    if (options.secret !== undefined) this.headers.authorization = `Bearer ${options.secret}`;
  }

  /** A point read (`get`) or one key's windows or sessions (`fetch`). `taskId`, when the
   * caller knows the key's task, routes the first attempt straight to its worker. */
  async point(
    store: string,
    op: "get" | "fetch",
    key: KeyParam,
    request: Omit<QueryRequest, "key"> = {},
    taskId?: string,
  ): Promise<RoutedResult> {
    const deadline = Date.now() + this.timeoutMs;
    let hint = taskId;
    let delay = 25;
    let last: QueryError | null = null;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0 && Date.now() >= deadline) throw this.gaveUp(store, last);
      const endpoints = await this.current(last !== null);
      const target =
        hint === undefined
          ? endpoints[this.next++ % Math.max(1, endpoints.length)]
          : this.holder(endpoints, hint, request.allowStale === true);
      if (target === undefined) {
        last =
          endpoints.length === 0
            ? this.noWorkers()
            : new QueryError(
                "STORE_NOT_READY",
                `no worker of app '${this.applicationId}' serves task ${hint} of store '${store}' now (restoring, or moving in a rebalance)`,
                { taskId: hint! },
              );
        delay = await backoff(delay, deadline);
        continue;
      }
      try {
        // a copy is asked for a stale answer only when it was chosen for its copy (the
        // active worker did not answer): the active one answers first whenever it can
        const viaStandby =
          hint !== undefined && request.allowStale === true && !target.tasks.includes(hint);
        const { allowStale: _, ...fresh } = request;
        const answer = await this.post(target, store, op, {
          ...(viaStandby ? request : fresh),
          key,
        });
        return {
          entries: answer.entries.map(fromWire),
          truncated: answer.truncated,
          partition: answer.partition,
          ...(answer.stale === true ? { stale: true, lag: answer.lag ?? 0 } : {}),
        };
      } catch (e) {
        if (!(e instanceof QueryError) || !e.retriable) throw e;
        last = e;
        if (e.code === "NOT_OWNER" && e.taskId !== undefined && hint !== e.taskId) {
          hint = e.taskId; // one more hop, to the worker the endpoints name
          continue;
        }
        delay = await backoff(delay, deadline);
      }
    }
  }

  /**
   * The worker to ask for a task: the one running it, unless it did not answer lately;
   * with `allowStale`, else one keeping a standby copy of it.
   */
  private holder(
    endpoints: readonly QueryEndpoint[],
    taskId: string,
    allowStale: boolean,
  ): QueryEndpoint | undefined {
    const now = Date.now();
    const answers = (e: QueryEndpoint) => now - (this.unreachable.get(e.url) ?? 0) > UNREACHABLE_MS;
    const active = endpoints.find((e) => e.tasks.includes(taskId));
    if (!allowStale || (active !== undefined && answers(active))) return active;
    return endpoints.find((e) => e.standbys?.includes(taskId) === true && answers(e)) ?? active;
  }

  /** `range` or `all` over every worker, merged in key-byte order (then time). */
  async scan(
    store: string,
    op: "range" | "all",
    request: QueryRequest = {},
  ): Promise<RoutedResult> {
    const deadline = Date.now() + this.timeoutMs;
    let delay = 25;
    let last: QueryError | null = null;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0 && Date.now() >= deadline) throw this.gaveUp(store, last);
      const endpoints = await this.current(last !== null);
      if (endpoints.length === 0) {
        last = this.noWorkers();
        delay = await backoff(delay, deadline);
        continue;
      }
      const answers = await Promise.allSettled(
        endpoints.map((e) => this.post(e, store, op, request)),
      );
      const parts = new Map<number, QueryPart>();
      let partitions = 0;
      last = null;
      for (const a of answers) {
        if (a.status === "rejected") {
          const e = a.reason;
          if (!(e instanceof QueryError) || !e.retriable) throw e;
          last = e;
          continue;
        }
        partitions = Math.max(partitions, a.value.partitions ?? 0);
        for (const p of a.value.parts ?? []) {
          // an active task's part wins over a standby copy's (allowStale)
          const had = parts.get(p.partition);
          if (had === undefined || (had.stale === true && p.stale !== true))
            parts.set(p.partition, p);
        }
      }
      const missing: number[] = [];
      for (let p = 0; p < partitions; p++) if (!parts.has(p)) missing.push(p);
      if (missing.length === 0 && partitions > 0) {
        const entries = [...parts.values()].flatMap((p) => p.entries.map(fromWire));
        entries.sort(byKeyThenTime);
        const truncated = [...parts.values()].some((p) => p.truncated);
        const limit = request.limit;
        const cut = limit !== undefined && entries.length > limit;
        const stale = [...parts.values()].filter((p) => p.stale === true);
        return {
          entries: cut ? entries.slice(0, limit) : entries,
          truncated: truncated || cut,
          partition: null,
          ...(stale.length === 0
            ? {}
            : { stale: true, lag: Math.max(...stale.map((p) => p.lag ?? 0)) }),
        };
      }
      last ??= new QueryError(
        "STORE_NOT_READY",
        `partitions ${missing.join(", ")} of store '${store}' are on no worker that answered (restoring, or moving in a rebalance)`,
      );
      delay = await backoff(delay, deadline);
    }
  }

  /** The kind of `store` as the workers advertise it (undefined: no worker has it, or no
   * worker runs). */
  async storeType(store: string): Promise<"key-value" | "window" | "session" | undefined> {
    const endpoints = await this.current(false);
    return endpoints.find((e) => e.stores[store] !== undefined)?.stores[store];
  }

  /**
   * Drops the pooled connections to the workers. Queries after this, and the next attempt
   * of one still retrying, fail with CLIENT_CLOSED: a caller shutting down must not have a
   * query loop reopen connections for up to its timeout.
   */
  close(): void {
    this.closed = true;
    this.http.close();
  }

  /** The endpoints, re-read when asked (an answer said they moved) or none are known. */
  private async current(stale: boolean): Promise<QueryEndpoint[]> {
    if (this.closed)
      throw new QueryError(
        "CLIENT_CLOSED",
        `the query client of app '${this.applicationId}' was closed: make a new one to query again`,
      );
    const now = Date.now();
    if ((stale || this.endpoints.length === 0) && now - this.refreshedAt >= REFRESH_INTERVAL_MS) {
      this.refreshedAt = now;
      this.endpoints = await readQueryEndpoints(
        this.options.log,
        this.applicationId,
        this.options.clientId ?? `${this.applicationId}-query-${process.pid}`,
      );
    }
    return this.endpoints;
  }

  private async post(
    endpoint: QueryEndpoint,
    store: string,
    op: QueryOp,
    request: QueryRequest,
  ): Promise<QueryAnswer> {
    let res: { status: number; text: string };
    try {
      res = await this.http.post(
        `${endpoint.url}/v1/stores/${encodeURIComponent(store)}/${op}`,
        this.headers,
        JSON.stringify(request),
        REQUEST_TIMEOUT_MS,
      );
    } catch (e) {
      // a worker that stopped or died since it advertised itself: the endpoints moved
      this.unreachable.set(endpoint.url, Date.now());
      throw new QueryError(
        "STORE_NOT_READY",
        `worker ${endpoint.memberId} at ${endpoint.url} did not answer (${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message})`,
        { cause: e },
      );
    }
    const text = res.text;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new QueryError(
        "QUERY_FAILED",
        `${endpoint.url} answered HTTP ${res.status} that is not a query answer: ${text.slice(0, 200)}`,
      );
    }
    if (res.status >= 200 && res.status < 300) return body as QueryAnswer;
    const f = (body as QueryFailure).error;
    throw new QueryError(f?.code ?? "QUERY_FAILED", f?.message ?? `HTTP ${res.status}`, {
      ...(f?.taskId === undefined ? {} : { taskId: f.taskId }),
      ...(f?.partition === undefined ? {} : { partition: f.partition }),
    });
  }

  private noWorkers(): QueryError {
    return new QueryError(
      "UNKNOWN_APP",
      `no running worker of app '${this.applicationId}' advertises a query endpoint: is it running (tributary run), on this log, with queries on?`,
    );
  }

  private gaveUp(store: string, last: QueryError | null): QueryError {
    const code: QueryErrorCode = last?.code ?? "STORE_NOT_READY";
    return new QueryError(
      code,
      `query of store '${store}' of app '${this.applicationId}' gave up after ${this.timeoutMs} ms: ${last?.message ?? "no answer"}`,
      {
        ...(last === null ? {} : { cause: last }),
        ...(last?.taskId === undefined ? {} : { taskId: last.taskId }),
        ...(last?.partition === undefined ? {} : { partition: last.partition }),
      },
    );
  }
}

function fromWire(e: WireEntry): RoutedEntry {
  const out: RoutedEntry = {
    k: Buffer.from(e.k, "base64"),
    v: Buffer.from(e.v, "base64"),
    key: e.key,
    value: e.value,
  };
  if (e.start !== undefined) out.start = e.start;
  if (e.end !== undefined) out.end = e.end;
  return out;
}

function byKeyThenTime(a: RoutedEntry, b: RoutedEntry): number {
  return Buffer.compare(a.k, b.k) || (a.start ?? 0) - (b.start ?? 0) || (a.end ?? 0) - (b.end ?? 0);
}

/** Waits `delay` (not past the deadline); the next delay, doubled up to 1 s. */
async function backoff(delay: number, deadline: number): Promise<number> {
  const wait = Math.max(0, Math.min(delay, deadline - Date.now()));
  await new Promise((resolve) => setTimeout(resolve, wait));
  return Math.min(delay * 2, 1000);
}
