/**
 * Sample data as JSON lines for `tributary produce --format json`, deterministic for a
 * seed:
 *   node dist/generate.js customers [count=50] [seed=1]   {"key": id, "value": Customer, "timestamp"}
 *   node dist/generate.js orders [count=1000] [seed=1] [customers=50]
 *                                                          {"key": orderId, "value": Order, "timestamp"}
 * Customers are dated an hour before the first order, so a replay of both topics fills
 * the table before the orders that look it up. To see the table follow updates, produce
 * a changed customer line (same key) while the app runs: later orders get the new tier.
 */
import { pathToFileURL } from "node:url";
import type { Customer, Order } from "./app.js";

const T0 = Date.parse("2024-03-01T00:00:00Z");
const NAMES = ["Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances"];
const COUNTRIES = ["FR", "DE", "US", "JP", "BR", "IN"];
const TIERS: Customer["tier"][] = ["bronze", "silver", "gold"];

function random(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

export function customers(
  count: number,
  seed = 1,
): { key: string; value: Customer; timestamp: number }[] {
  const next = random(seed);
  const out = [];
  for (let i = 0; i < count; i++) {
    const id = `c${String(i).padStart(4, "0")}`;
    out.push({
      key: id,
      value: {
        id,
        name: `${NAMES[next() % NAMES.length]} ${String.fromCharCode(65 + (next() % 26))}.`,
        tier: TIERS[next() % TIERS.length]!,
        country: COUNTRIES[next() % COUNTRIES.length]!,
      },
      timestamp: T0 + i * 1000,
    });
  }
  return out;
}

export function orders(
  count: number,
  seed = 1,
  customerCount = 50,
): { key: string; value: Order; timestamp: number }[] {
  const next = random(seed + 1);
  return Array.from({ length: count }, (_, i) => {
    const orderId = `o${String(i).padStart(6, "0")}`;
    return {
      key: orderId,
      value: {
        orderId,
        customerId: `c${String(next() % customerCount).padStart(4, "0")}`,
        amount: (next() % 50_000) / 100,
      },
      timestamp: T0 + 3_600_000 + i * 10_000,
    };
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [what, n, s, c] = process.argv.slice(2);
  const seed = Number(s ?? 1);
  const rows =
    what === "customers"
      ? customers(Number(n ?? 50), seed)
      : what === "orders"
        ? orders(Number(n ?? 1000), seed, Number(c ?? 50))
        : undefined;
  if (rows === undefined) {
    process.stderr.write("usage: generate.js customers|orders [count] [seed] [customers]\n");
    process.exit(2);
  }
  process.stdout.write(`${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
}
