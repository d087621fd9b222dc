import { InvalidArgumentError } from "../errors.js";

/**
 * Per-principal byte-rate quotas for produce and fetch, throttled as Kafka does: a client
 * over its rate is not refused, its answer is held back (and its connection not read) for
 * as long as it takes the rate to come back under the quota.
 *
 * The rate is enforced with the generic cell rate algorithm: each principal and direction
 * has a theoretical arrival time `tat`; a request of b bytes moves it b / rate later, and
 * the answer waits until `tat` is no more than one burst window ahead of now. So a client
 * may burst `rate × burstMs` bytes at once, and over any longer run gets at most its rate.
 *
 *   QuotaConfig => { <principal> | "default": { produceBytesPerSec?, fetchBytesPerSec? } }
 */
export type QuotaKind = "produce" | "fetch";

export interface PrincipalQuota {
  produceBytesPerSec?: number;
  fetchBytesPerSec?: number;
}

export type QuotaConfig = Record<string, PrincipalQuota>;

export interface QuotaManagerOptions {
  /** How far ahead of its rate a client may run before it waits. Default 1 s. */
  burstMs?: number;
  now?: () => number;
}

export class QuotaManager {
  private readonly tat = new Map<string, number>();
  private readonly throttled = { produce: 0, fetch: 0 };
  private readonly burstMs: number;
  private readonly now: () => number;

  constructor(
    private readonly quotas: QuotaConfig,
    options: QuotaManagerOptions = {},
  ) {
    for (const [who, q] of Object.entries(quotas)) {
      for (const [k, v] of Object.entries(q)) {
        if (!Number.isFinite(v) || (v as number) <= 0) {
          throw new InvalidArgumentError(
            `quota ${k} for ${who} is ${v}: expected a positive number of bytes per second`,
          );
        }
      }
    }
    this.burstMs = options.burstMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** The rate for this principal, or undefined when it has none. */
  rate(principal: string, kind: QuotaKind): number | undefined {
    const q = this.quotas[principal] ?? this.quotas.default;
    return kind === "produce" ? q?.produceBytesPerSec : q?.fetchBytesPerSec;
  }

  /**
   * Records `bytes` moved for a principal and returns how long (ms) to hold the answer
   * back; 0 when the principal is within its quota or has none.
   */
  record(principal: string, kind: QuotaKind, bytes: number): number {
    const rate = this.rate(principal, kind);
    if (rate === undefined || bytes <= 0) return 0;
    const key = `${kind}\u0000${principal}`;
    const now = this.now();
    const tat = Math.max(this.tat.get(key) ?? now, now) + (bytes / rate) * 1000;
    this.tat.set(key, tat);
    const delay = Math.max(0, Math.ceil(tat - now - this.burstMs));
    if (delay > 0) this.throttled[kind] += delay;
    return delay;
  }

  /** Total ms answers were held back, per direction (for metrics). */
  throttledMs(kind: QuotaKind): number {
    return this.throttled[kind];
  }
}
