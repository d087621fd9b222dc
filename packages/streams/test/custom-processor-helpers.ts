import {
  MINUTE_MS,
  type Payment,
  SESSION_GAP_MS,
  type Session,
  type Total,
} from "./fixtures/custom-processor-app.js";
import { pick, seeded } from "./helpers.js";

/** One payment as produced: account key, { id, amount }, event time. */
export interface PaymentEvent {
  key: string;
  value: Payment;
  timestamp: number;
}

/**
 * `n` payments over `accounts` accounts, times increasing (1 to 4 s apart, so sessions
 * with a 5 s gap both form and break), ids unique.
 */
export function generatePayments(n: number, accounts: number, seed = 7): PaymentEvent[] {
  const rand = seeded(seed);
  const keys = Array.from({ length: accounts }, (_, i) => `acct-${i}`);
  let t = 1_700_000_000_000;
  return Array.from({ length: n }, (_, id) => {
    t += 1000 + Math.floor(rand() * 3000);
    return {
      key: pick(rand, keys),
      value: { id, amount: 1 + Math.floor(rand() * 100) },
      timestamp: t,
    };
  });
}

/** What "totals" ends with: per account every id once, and their sum. */
export function totalsReference(events: readonly PaymentEvent[]): Map<string, Total> {
  const m = new Map<string, Total>();
  for (const e of events) {
    const t = m.get(e.key) ?? { ids: [], sum: 0 };
    m.set(e.key, { ids: [...t.ids, e.value.id], sum: t.sum + e.value.amount });
  }
  return m;
}

/** What "minute-counts" ends with: payments per `account@minuteStart`. */
export function minuteCountsReference(events: readonly PaymentEvent[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of events) {
    const k = `${e.key}@${e.timestamp - (e.timestamp % MINUTE_MS)}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** What "sessions" ends with: per account, runs of payments at most the gap apart. */
export function sessionsReference(events: readonly PaymentEvent[]): Map<string, Session> {
  const open = new Map<string, Session>();
  const done = new Map<string, Session>();
  for (const e of events) {
    const s = open.get(e.key);
    if (s !== undefined && e.timestamp - s.end <= SESSION_GAP_MS) {
      s.end = e.timestamp;
      s.count++;
    } else {
      if (s !== undefined) done.set(`${e.key}@${s.start}`, s);
      open.set(e.key, { start: e.timestamp, end: e.timestamp, count: 1 });
    }
  }
  for (const [k, s] of open) done.set(`${k}@${s.start}`, s);
  return done;
}
