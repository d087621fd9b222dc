/** What a request other than a fetch is assumed to answer with, for the budget. */
const SMALL_ANSWER_BYTES = 4096;

/** A request as the budget sees it. */
export interface PricedRequest {
  isFetch: boolean;
  /** Bytes it may make the broker hold until its answer is sent (see RequestBudget.price). */
  reserved: number;
}

/**
 * One connection's budget of requests in flight. Per connection the broker holds at most
 * about:
 *   maxBufferedBytes of answers not yet sent (a request starts only below that)
 *   + maxBufferedBytes of fetch answers being read (each fetch reserves its maxBytes; one
 *     fetch always may run, however large its maxBytes, up to the frame limit)
 *   + maxBufferedBytes of other requests in flight (their bodies, and 4 KiB per answer)
 * and at most maxInFlight requests at once. One request may always run when nothing is in
 * flight or unsent, so a client never deadlocks on its own limits.
 */
export class RequestBudget {
  inFlight = 0;
  private fetchesInFlight = 0;
  /** Bytes reserved by fetches in flight (their maxBytes) and by other requests in flight. */
  private fetchReserved = 0;
  private otherReserved = 0;

  constructor(
    private readonly maxBufferedBytes: number,
    private readonly maxInFlight: number,
  ) {}

  /**
   * What a request reserves: a fetch its maxBytes (from its options, else the response
   * limit) plus a small answer, capped at the response limit; any other its body plus a
   * small answer.
   */
  static price(
    isFetch: boolean,
    body: Record<string, unknown>,
    bodyBytes: number,
    responseLimit: number,
  ): number {
    if (!isFetch) return bodyBytes + SMALL_ANSWER_BYTES;
    const options = body.options as { maxBytes?: unknown } | undefined;
    const maxBytes =
      typeof options?.maxBytes === "number" && options.maxBytes >= 0
        ? options.maxBytes
        : responseLimit;
    return Math.min(responseLimit, maxBytes + SMALL_ANSWER_BYTES);
  }

  get reservedBytes(): number {
    return this.fetchReserved + this.otherReserved;
  }

  /** Whether `r` may start now, with `unsent` answer bytes still queued on the socket. */
  admits(r: PricedRequest, unsent: number): boolean {
    if (this.inFlight === 0 && unsent === 0) return true; // always one request at a time
    if (this.inFlight >= this.maxInFlight || unsent >= this.maxBufferedBytes) return false;
    if (r.isFetch) {
      return this.fetchesInFlight === 0 || this.fetchReserved + r.reserved <= this.maxBufferedBytes;
    }
    return this.otherReserved + r.reserved <= this.maxBufferedBytes;
  }

  begin(r: PricedRequest): void {
    this.inFlight++;
    if (r.isFetch) {
      this.fetchesInFlight++;
      this.fetchReserved += r.reserved;
    } else this.otherReserved += r.reserved;
  }

  end(r: PricedRequest): void {
    this.inFlight--;
    if (r.isFetch) {
      this.fetchesInFlight--;
      this.fetchReserved -= r.reserved;
    } else this.otherReserved -= r.reserved;
  }
}
