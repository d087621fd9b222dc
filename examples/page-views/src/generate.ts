/**
 * Page views as JSON lines for `tributary produce page-views --format json --value-serde json`:
 *   {"key": user, "value": {"user", "page"}, "timestamp": ms}
 * Deterministic for a seed. Event time moves forward about 400 ms per view; 8% of views
 * arrive a few seconds late (inside the 10 s grace: counted), 1% a few minutes late
 * (dropped). Ends with one view per user two minutes later, so every real window closes.
 *
 *   node dist/generate.js [count=5000] [seed=1] [users=20]
 */
import { pathToFileURL } from "node:url";
import type { PageView } from "./app.js";

const T0 = Date.parse("2024-05-01T12:00:00Z");
const PAGES = ["/", "/docs", "/docs/dsl", "/pricing", "/blog", "/signup"];

export interface ViewEvent {
  key: string;
  value: PageView;
  timestamp: number;
}

export function pageViews(count: number, seed = 1, users = 20): ViewEvent[] {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const out: ViewEvent[] = [];
  let now = T0;
  for (let i = 0; i < count; i++) {
    now += 200 + (next() % 400);
    const r = next() % 100;
    const late = r === 0 ? 120_000 + (next() % 120_000) : r < 9 ? 1000 + (next() % 7000) : 0;
    const user = `user-${next() % users}`;
    out.push({
      key: user,
      value: { user, page: PAGES[next() % PAGES.length]! },
      timestamp: now - late,
    });
  }
  // Flush: stream time jumps past every window's close, per partition.
  for (let u = 0; u < users; u++) {
    const user = `user-${u}`;
    out.push({ key: user, value: { user, page: "/" }, timestamp: now + 120_000 });
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [n, s, u] = process.argv.slice(2);
  const rows = pageViews(Number(n ?? 5000), Number(s ?? 1), Number(u ?? 20));
  process.stdout.write(`${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
}
