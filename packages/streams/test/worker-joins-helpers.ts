import { type LogClient, type Producer, partitionForKey } from "@tributary/log";
import type { Customer, Enriched, Order, Payment } from "./fixtures/orders-joins-app.js";
import { seeded } from "./helpers.js";

/**
 * Generated orders, payments and customer changes for the join worker tests, and their
 * reference results written with plain loops.
 *
 * The events come in rounds that the tests hand to the worker one at a time (waiting until
 * the app has caught up in between; a minute of event time passes between rounds), because a task reading two topics sees them in the
 * order its fetches bring, not in the order produced. Inside a round, event time spans
 * under 30 s and "slightly late" is at most 20 s, less than the 60 s grace together; "very
 * late" is 3 to 6 minutes: so whether a record is dropped does not depend on how the two
 * topics interleave, and the reference can decide it in production order. Customers
 * change only between rounds, so the table an order meets does not depend on it either.
 */

export const MINUTE = 60_000;
export const JOIN_WINDOW = 5 * MINUTE;
export const GRACE = MINUTE;
export const PARTITIONS = 3;
export const CUSTOMER_PARTITIONS = 2;

export type StreamEvent =
  | { kind: "order"; ts: number; order: Order }
  | { kind: "payment"; ts: number; payment: Payment };

export interface Round {
  /** customer changes (null deletes) produced, and caught up with, before the round */
  customers: [string, Customer | null][];
  events: StreamEvent[];
}

export function generateRounds(
  rounds: number,
  ordersPerRound: number,
  paymentsPerRound: number,
  seed: number,
): Round[] {
  const rand = seeded(seed);
  const customerIds = Array.from({ length: 200 }, (_, i) => `c${i}`);
  let now = 1_700_000_000_000;
  let nextOrder = 0;
  let nextPayment = 0;
  const out: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    const customers: [string, Customer | null][] = [];
    const changes = r === 0 ? 170 : 15;
    for (let i = 0; i < changes; i++) {
      const c = r === 0 ? customerIds[i]! : customerIds[Math.floor(rand() * 200)]!;
      customers.push([
        c,
        r > 0 && rand() < 0.2
          ? null
          : { name: `${c}-r${r}`, tier: rand() < 0.3 ? "gold" : "silver" },
      ]);
    }
    const events: StreamEvent[] = [];
    // a quiet minute between rounds: windows of earlier rounds close, unmatched records go out
    now += MINUTE;
    const total = ordersPerRound + paymentsPerRound;
    for (let i = 0; i < total; i++) {
      now += Math.floor(rand() * 60);
      let ts = now;
      const late = rand();
      if (r > 0 && late < 0.01) ts = now - (3 + Math.floor(rand() * 4)) * MINUTE;
      else if (r > 0 && late < 0.08) ts = now - Math.floor(rand() * 20_000);
      if (rand() < ordersPerRound / total) {
        const id = `o${nextOrder++}`;
        events.push({
          kind: "order",
          ts,
          order: { id, customer: customerIds[Math.floor(rand() * 200)]!, amount: i % 97 },
        });
      } else {
        // a recent order (most pair inside the window), or one that never comes
        const back = Math.floor(rand() * 400);
        const order =
          rand() < 0.85 && nextOrder > back ? `o${nextOrder - 1 - back}` : `x${nextPayment}`;
        events.push({ kind: "payment", ts, payment: { id: `p${nextPayment++}`, order } });
      }
    }
    out.push({ customers, events });
  }
  return out;
}

export function eventKey(e: StreamEvent): string {
  return e.kind === "order" ? e.order.id : e.payment.order;
}

/** Each order's enrichment with the customer as it was in the order's round. */
export function enrichedReference(rounds: readonly Round[]): Map<string, Enriched> {
  const table = new Map<string, Customer>();
  const out = new Map<string, Enriched>();
  for (const r of rounds) {
    for (const [c, v] of r.customers) {
      if (v === null) table.delete(c);
      else table.set(c, v);
    }
    for (const e of r.events) {
      if (e.kind !== "order") continue;
      const c = table.get(e.order.customer);
      out.set(e.order.id, { order: e.order.id, customer: c?.name ?? null, tier: c?.tier ?? null });
    }
  }
  return out;
}

/**
 * The pairs of the inner join (`order|payment`), and what the outer join adds: records
 * with no partner once their window has closed (ts + 5 min + grace < the partition's final
 * stream time), as `order|-` and `-|payment`. Records older than stream time - grace are
 * dropped; stream time is per partition (per task), as the worker keeps it.
 */
export function joinReference(rounds: readonly Round[]) {
  const byPartition: StreamEvent[][] = Array.from({ length: PARTITIONS }, () => []);
  for (const r of rounds) {
    for (const e of r.events) {
      byPartition[partitionForKey(Buffer.from(eventKey(e)), PARTITIONS)]!.push(e);
    }
  }
  const pairs = new Set<string>();
  const unmatched = new Set<string>();
  let dropped = 0;
  for (const events of byPartition) {
    let streamTime = -1;
    const accepted: StreamEvent[] = [];
    for (const e of events) {
      streamTime = Math.max(streamTime, e.ts);
      if (e.ts + GRACE < streamTime) dropped++;
      else accepted.push(e);
    }
    const payments = new Map<string, StreamEvent[]>();
    for (const e of accepted) {
      if (e.kind === "payment")
        payments.set(e.payment.order, [...(payments.get(e.payment.order) ?? []), e]);
    }
    const matched = new Set<StreamEvent>();
    for (const o of accepted) {
      if (o.kind !== "order") continue;
      for (const p of payments.get(o.order.id) ?? []) {
        if (p.kind !== "payment" || Math.abs(p.ts - o.ts) > JOIN_WINDOW) continue;
        pairs.add(`${o.order.id}|${p.payment.id}`);
        matched.add(o);
        matched.add(p);
      }
    }
    for (const e of accepted) {
      if (matched.has(e) || !(e.ts + JOIN_WINDOW + GRACE < streamTime)) continue;
      unmatched.add(e.kind === "order" ? `${e.order.id}|-` : `-|${e.payment.id}`);
    }
  }
  return { pairs, unmatched, dropped };
}

/** The app's input and internal topics a round must be through before the next one. */
export async function joinTopics(log: LogClient): Promise<string[]> {
  const internal = (await log.admin.listTopics({ includeInternal: true })).filter(
    (t) => t.startsWith("orders-joins-app-") && t.endsWith("-repartition"),
  );
  return ["customers", "orders", "payments", ...internal];
}

/** Creates the joins app's topics: orders and payments 3 partitions, customers 2. */
export async function createJoinTopics(log: LogClient): Promise<void> {
  // The records are stamped November 2023: the default 7 days of retention would delete
  // them (and the outputs) at the broker's first retention run, 30 s in.
  const config = { retentionMs: -1 };
  await log.admin.createTopic("orders", { partitions: PARTITIONS, config });
  await log.admin.createTopic("payments", { partitions: PARTITIONS, config });
  await log.admin.createTopic("customers", { partitions: CUSTOMER_PARTITIONS, config });
  for (const t of ["enriched-orders", "paid-orders", "order-payments"]) {
    await log.admin.createTopic(t, { partitions: 1, config });
  }
}

/**
 * Produces a round's customer changes, lets the app settle (`settle` waits until it caught
 * up), then its orders and payments, and lets it settle again.
 */
export async function produceRound(
  producer: Producer,
  round: Round,
  settle: () => Promise<void>,
): Promise<void> {
  await producer.send(
    "customers",
    round.customers.map(([k, v]) => ({
      key: Buffer.from(k),
      value: v === null ? null : Buffer.from(JSON.stringify(v)),
    })),
  );
  await settle();
  const orders = round.events.filter((e) => e.kind === "order");
  const payments = round.events.filter((e) => e.kind === "payment");
  await producer.send(
    "orders",
    orders.map((e) => ({
      key: Buffer.from(e.order.id),
      value: Buffer.from(JSON.stringify(e.order)),
      timestamp: e.ts,
    })),
  );
  await producer.send(
    "payments",
    payments.map((e) => ({
      key: Buffer.from(e.payment.order),
      value: Buffer.from(JSON.stringify(e.payment)),
      timestamp: e.ts,
    })),
  );
  await settle();
}
