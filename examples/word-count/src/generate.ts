/**
 * Sample data for word count: JSON lines `{"value": "<a line of text>", "timestamp": ms}`
 * on stdout, one minute of event time apart, for `tributary produce text-lines --format json`.
 * Deterministic for a seed, so a run can be checked against a reference.
 *
 *   node dist/generate.js [count=1000] [seed=1]
 */
import { pathToFileURL } from "node:url";

const WORDS = (
  "the a stream of records flows through a log each record has a key a value and a time " +
  "partitions keep order per key tasks process partitions and keep state in stores"
).split(" ");

export function* textLines(count: number, seed = 1, start = Date.parse("2024-01-01T00:00:00Z")) {
  let s = seed >>> 0 || 1;
  const next = () => {
    // xorshift32: a few lines of code, the same sequence on every machine.
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  for (let i = 0; i < count; i++) {
    const n = 3 + (next() % 8);
    const words = Array.from({ length: n }, () => WORDS[next() % WORDS.length]!);
    yield { value: words.join(" "), timestamp: start + i * 60_000 };
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const count = Number(process.argv[2] ?? 1000);
  const seed = Number(process.argv[3] ?? 1);
  const out: string[] = [];
  for (const line of textLines(count, seed)) out.push(JSON.stringify(line));
  process.stdout.write(`${out.join("\n")}\n`);
}
