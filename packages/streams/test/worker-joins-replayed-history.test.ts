import { Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { type Account, type Login, type Payment, WITHIN_MS } from "./fixtures/replay-joins-app.js";
import { seeded } from "./helpers.js";
import {
  brokerBackend,
  produce,
  readTopic,
  startWorker,
  stopWorker,
  tempDir,
} from "./runtime-helpers.js";
import { waitCaughtUp } from "./worker-windows-helpers.js";

const str = Serdes.string();
const T0 = Date.parse("2024-06-01T08:00:00Z");
const SPAN_MS = 2 * 60 * 60_000;
const USERS = Array.from({ length: 30 }, (_, i) => `user-${i}`);
const INPUTS = ["logins", "payments", "accounts"];

interface Timed<V> {
  key: string;
  value: V;
  timestamp: number;
}

/**
 * Two hours of history on three co-partitioned topics keyed by user, each in time order.
 * Timestamps never tie across topics (payments at 0 mod 3 ms, logins at 1, accounts at 2),
 * so the order in time is one order, and no login is exactly a join window from a payment.
 */
function history(seed: number) {
  const rand = seeded(seed);
  const at = (residue: number) => {
    const t = T0 + Math.floor(rand() * SPAN_MS);
    return t - (t % 3) + residue;
  };
  const byTime = <V>(xs: Timed<V>[]) => xs.sort((a, b) => a.timestamp - b.timestamp);
  const logins = byTime(
    Array.from({ length: 600 }, (_, i): Timed<Login> => {
      const user = USERS[Math.floor(rand() * USERS.length)]!;
      return { key: user, value: { id: `l${i}`, user }, timestamp: at(1) };
    }),
  );
  const payments = byTime(
    Array.from({ length: 3000 }, (_, i): Timed<Payment> => {
      const user = USERS[Math.floor(rand() * USERS.length)]!;
      return { key: user, value: { id: `p${i}`, user }, timestamp: at(0) };
    }),
  );
  // every user opens an account somewhere in the two hours, some upgrade later
  const accounts = byTime(
    USERS.flatMap((user): Timed<Account>[] => {
      const opened = { key: user, value: { plan: "basic" }, timestamp: at(2) };
      if (rand() < 0.5) return [opened];
      return [opened, { key: user, value: { plan: "gold" }, timestamp: at(2) }];
    }),
  );
  // the later of two updates is the upgrade
  const seen = new Set<string>();
  for (const a of accounts) {
    a.value = { plan: seen.has(a.key) ? "gold" : "basic" };
    seen.add(a.key);
  }
  return { logins, payments, accounts };
}

/** Pairs of a payment and a login of its user at most WITHIN_MS apart, by plain loops. */
function pairsReference(logins: Timed<Login>[], payments: Timed<Payment>[]): Set<string> {
  const out = new Set<string>();
  for (const p of payments) {
    for (const l of logins) {
      if (l.key === p.key && Math.abs(l.timestamp - p.timestamp) <= WITHIN_MS) {
        out.add(`${p.value.id}|${l.value.id}`);
      }
    }
  }
  return out;
}

/**
 * Each payment with its user's plan as of the payment's time — the latest account update
 * earlier than it, "-" before the account existed — whatever order the topics were written
 * in: Kafka Streams processes a task's inputs in timestamp order, so a stream-table join
 * sees the table as of the stream record's time, never updates from its future.
 */
function accountsReference(accounts: Timed<Account>[], payments: Timed<Payment>[]) {
  const out = new Map<string, string>();
  for (const p of payments) {
    let plan = "-";
    for (const a of accounts) {
      if (a.key === p.key && a.timestamp < p.timestamp) plan = a.value.plan;
    }
    out.set(p.value.id, plan);
  }
  return out;
}

const encode = <V>(xs: Timed<V>[]) =>
  xs.map((x) => ({
    key: Buffer.from(x.key),
    value: Buffer.from(JSON.stringify(x.value)),
    timestamp: x.timestamp,
  }));

describe("joins over history written one input after another, on two real workers", () => {
  it("process their inputs in timestamp order: the stream-stream join finds every pair within the window, the stream-table join sees each account as of the payment", {
    timeout: 300_000, // a hang guard (loaded machines)
  }, async () => {
    const { logins, payments, accounts } = history(41);
    const pairs = pairsReference(logins, payments);
    const plans = accountsReference(accounts, payments);
    expect(pairs.size).toBeGreaterThan(500);
    const planCounts = (m: Map<string, string>) => {
      const c = { "-": 0, basic: 0, gold: 0 } as Record<string, number>;
      for (const v of m.values()) c[v] = (c[v] ?? 0) + 1;
      return c;
    };
    // the table history is written last, yet most payments come after their account
    const counts = planCounts(plans);
    for (const plan of ["-", "basic", "gold"]) expect(counts[plan]).toBeGreaterThan(300);

    const backend = await brokerBackend();
    const { log } = backend;
    try {
      // The history is stamped June 2024, and so are the outputs: under the default 7 days
      // of retention the broker's retention run (every 30 s) deletes every one of these
      // topics whole, inputs and outputs alike, once a loaded machine stretches the test
      // past it — the outputs then read as empty although the group committed the ends.
      const config = { retentionMs: -1 };
      for (const t of INPUTS) await log.admin.createTopic(t, { partitions: 2, config });
      for (const t of ["payment-logins", "payment-accounts"]) {
        await log.admin.createTopic(t, { partitions: 1, config });
      }
      // the whole history of one input, then the next: as when replaying topics that
      // were loaded one by one
      await produce(log, "logins", encode(logins));
      await produce(log, "payments", encode(payments));
      await produce(log, "accounts", encode(accounts));

      const workers = [
        await startWorker(backend, "replay-joins-app.ts", tempDir("replay-a")),
        await startWorker(backend, "replay-joins-app.ts", tempDir("replay-b")),
      ];
      await waitCaughtUp(log, "replay-joins-app", INPUTS, 90_000);
      for (const w of workers) await stopWorker(w);
      // none of it was deleted under the test (see the retention above)
      for (const t of [...INPUTS, "payment-logins", "payment-accounts"]) {
        for (const e of await log.admin.listOffsets(t, "earliest")) expect(e.offset).toBe(0);
      }

      const joined = (await readTopic(log, "payment-logins", str, str)).records.map(
        (r) => r.value!,
      );
      expect(new Set(joined).size).toBe(pairs.size);
      expect(new Set(joined)).toEqual(pairs);

      const enriched = new Map<string, string>();
      for (const r of (await readTopic(log, "payment-accounts", str, str)).records) {
        const [payment, plan] = r.value!.split("|") as [string, string];
        enriched.set(payment, plan);
      }
      expect(planCounts(enriched)).toEqual(counts);
      expect(enriched).toEqual(plans);
    } finally {
      await backend.close();
    }
  });
});
