/**
 * Logins and payments as JSON lines, deterministic for a seed:
 *   node dist/generate.js logins [users=50] [seed=1]
 *   node dist/generate.js payments [count=2000] [seed=1] [users=50]
 * Each user logs in from a home country about every 20 minutes; payments come from the
 * home country, except about 3% that come from elsewhere — the ones the rule must catch when
 * they fall within 5 minutes of a login. Event times span two hours from T0.
 */
import { pathToFileURL } from "node:url";
import type { Login, Payment } from "./app.js";

export const T0 = Date.parse("2024-06-01T08:00:00Z");
const COUNTRIES = ["FR", "DE", "US", "JP", "BR", "IN", "NG", "CA"];

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

export const homeOf = (user: number) => COUNTRIES[user % COUNTRIES.length]!;

export function logins(users = 50, seed = 1): { key: string; value: Login; timestamp: number }[] {
  const next = random(seed);
  const out = [];
  for (let slot = 0; slot < 6; slot++) {
    for (let u = 0; u < users; u++) {
      const user = `user-${u}`;
      out.push({
        key: user,
        value: { user, country: homeOf(u) },
        timestamp: T0 + slot * 1_200_000 + (next() % 1_200_000),
      });
    }
  }
  return out.sort((a, b) => a.timestamp - b.timestamp);
}

export function payments(count = 2000, seed = 1, users = 50) {
  const next = random(seed + 7);
  const out: { key: string; value: Payment; timestamp: number }[] = [];
  for (let i = 0; i < count; i++) {
    const u = next() % users;
    const user = `user-${u}`;
    const foreign = next() % 100 < 3;
    const country = foreign
      ? COUNTRIES[(u + 1 + (next() % (COUNTRIES.length - 1))) % COUNTRIES.length]!
      : homeOf(u);
    out.push({
      key: user,
      value: {
        paymentId: `p${String(i).padStart(6, "0")}`,
        user,
        amount: (next() % 100_000) / 100,
        country,
      },
      timestamp: T0 + Math.floor((i * 7_200_000) / count),
    });
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [what, a, b, c] = process.argv.slice(2);
  const rows =
    what === "logins"
      ? logins(Number(a ?? 50), Number(b ?? 1))
      : what === "payments"
        ? payments(Number(a ?? 2000), Number(b ?? 1), Number(c ?? 50))
        : undefined;
  if (rows === undefined) {
    process.stderr.write(
      "usage: generate.js logins [users] [seed] | payments [count] [seed] [users]\n",
    );
    process.exit(2);
  }
  process.stdout.write(`${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
}
