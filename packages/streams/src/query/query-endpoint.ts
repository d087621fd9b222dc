/** The compacted topic where workers advertise their query endpoints. */
export const QUERY_ENDPOINTS_TOPIC = "_tributary_queries";
/** How often a worker republishes its endpoint (also at once when its tasks change). A
 * reader takes one older than three intervals for a worker that died without a word. */
export const QUERY_ENDPOINT_INTERVAL_MS = 2000;

/**
 * One worker's query endpoint, the value of a record in QUERY_ENDPOINTS_TOPIC (JSON,
 * UTF-8), keyed by `<applicationId>/<memberId>` (UTF-8); a worker that stops writes a
 * tombstone under its key.
 *
 *   QueryEndpoint => { v: 1, applicationId: string, memberId: string, url: string,
 *                      secured: bool, stores: { <name>: "key-value" | "window" | "session" },
 *                      tasks: [string], restoring: [string], standbys?: [string],
 *                      publishedAt: ms, intervalMs: int }
 *
 * `tasks` are the tasks whose stores are open and queryable there; `restoring` those
 * being restored there (a query for them is answered STORE_NOT_READY); `standbys` the
 * tasks it keeps a standby copy of (answering queries that allow stale results).
 */
export interface QueryEndpoint {
  v: 1;
  applicationId: string;
  memberId: string;
  url: string;
  secured: boolean;
  /** The app's stores and their kinds (what a client without the app file can ask). */
  stores: Record<string, "key-value" | "window" | "session">;
  tasks: string[];
  restoring: string[];
  /** Absent from workers without standbys (and from older workers). */
  standbys?: string[];
  publishedAt: number;
  intervalMs: number;
}

/** A QueryEndpoint read back, or null when the value is not one. */
export function parseQueryEndpoint(value: Buffer): QueryEndpoint | null {
  try {
    const e = JSON.parse(value.toString("utf8")) as QueryEndpoint;
    if (e?.v !== 1 || typeof e.url !== "string" || !Array.isArray(e.tasks)) return null;
    if (!Array.isArray(e.restoring) || typeof e.stores !== "object" || e.stores === null)
      return null;
    return e;
  } catch {
    return null;
  }
}
