import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  appDir,
  cleanup,
  cli,
  eventually,
  expectOneLineError,
  jsonLines,
  runCli,
  spawnCli,
  startBroker,
  tempDir,
} from "./helpers.js";

afterEach(cleanup);

const HOUR = 3_600_000;
const START = Date.parse("2024-03-01T00:00:00Z");
const SECRET = "query-secret-of-this-test";

/** Word count and words per hour, the tables returned for typed queries. */
const APP = `
import { Serdes, TimeWindows, defineApp } from "@tributary/streams";
const str = Serdes.string();
export default defineApp({
  applicationId: "wc",
  topology: (b) => {
    const split = b
      .stream<string | null, string>("text-lines", { keySerde: str, valueSerde: str })
      .flatMapValues((line) => line.split(" "));
    const words = (name: string) => split.groupBy((_k, w) => w, { name, keySerde: str, valueSerde: str });
    const counts = words("words").count({ storeName: "counts" });
    const hourly = words("words-hourly")
      .windowedBy(TimeWindows.ofSizeAndGrace(${HOUR}, 30 * ${HOUR}))
      .count({ storeName: "hourly" });
    return { counts, hourly };
  },
});
`;

const WORDS = ["alpha", "beta", "gamma", "delta", "kafka", "flink", "zeta", "éclair", "42"];

describe("tributary query", () => {
  it("reads keys, ranges, windows and whole stores from 3 workers of tributary run as a reference says, and refuses what is wrong with a coded one-line error", async () => {
    const data = tempDir();
    const broker = await startBroker(data);
    const b = ["--broker", broker.address];
    // event times of 2024: kept whatever their age
    cli([
      "topics",
      "create",
      "text-lines",
      "--partitions",
      "3",
      "--config",
      "retention.ms=-1",
      ...b,
    ]);
    // 600 lines of 1-4 words, 20 hours of event time: reference counts and hourly windows
    const lines: { value: string; timestamp: number }[] = [];
    const counts = new Map<string, number>();
    const hourly = new Map<string, Map<number, number>>();
    let s = 7;
    const next = () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s;
    };
    for (let i = 0; i < 600; i++) {
      const words = Array.from({ length: 1 + (next() % 4) }, () => WORDS[next() % WORDS.length]!);
      const timestamp = START + (next() % (20 * HOUR));
      lines.push({ value: words.join(" "), timestamp });
      for (const w of words) {
        counts.set(w, (counts.get(w) ?? 0) + 1);
        const h = hourly.get(w) ?? new Map<number, number>();
        const start = timestamp - (timestamp % HOUR);
        h.set(start, (h.get(start) ?? 0) + 1);
        hourly.set(w, h);
      }
    }
    cli(["produce", "text-lines", "--format", "json", ...b], {
      input: lines.map((l) => JSON.stringify(l)).join("\n"),
    });
    const dir = appDir();
    fs.writeFileSync(path.join(dir, "app.ts"), APP);
    const env = { TRIBUTARY_QUERY_SECRET: SECRET };
    spawnCli(["run", path.join(dir, "app.ts"), "--workers", "3", "--progress", "none", ...b], {
      env,
    });
    const byBytes = (a: string, c: string) => Buffer.compare(Buffer.from(a), Buffer.from(c));
    const sorted = [...counts.keys()].sort(byBytes);

    const query = (args: string[]) => cli(["query", "wc", ...args, ...b], { env });
    const all = await eventually("every count from the workers", () => {
      const r = runCli(["query", "wc", "counts", "--all", ...b], { env });
      if (r.status !== 0) return undefined;
      const got = jsonLines<{ key: string; value: number }>(r.stdout);
      return got.length === counts.size && got.every((e) => e.value === counts.get(e.key))
        ? got
        : undefined;
    });
    expect(all.map((e) => e.key)).toEqual(sorted);

    for (const w of sorted) {
      expect(jsonLines(query(["counts", "--key", w]))).toEqual([
        expect.objectContaining({ key: w, found: true, value: counts.get(w) }),
      ]);
    }
    expect(jsonLines(query(["counts", "--key", "absent"]))).toEqual([
      expect.objectContaining({ key: "absent", found: false, value: null }),
    ]);
    const range = jsonLines<{ key: string }>(query(["counts", "--from", "beta", "--to", "kafka"]));
    expect(range.map((e) => e.key)).toEqual(
      sorted.filter((w) => byBytes(w, "beta") >= 0 && byBytes(w, "kafka") <= 0),
    );
    const from = START + 3 * HOUR;
    const to = START + 9 * HOUR;
    const windows = jsonLines<{ key: string; start: number; value: number }>(
      query([
        "hourly",
        "--key",
        "kafka",
        "--time-from",
        new Date(from).toISOString(),
        "--time-to",
        String(to),
      ]),
    );
    expect(windows.map((w) => [w.start, w.value])).toEqual(
      [...hourly.get("kafka")!].filter(([t]) => t >= from && t <= to).sort((x, y) => x[0] - y[0]),
    );

    const fail = (args: string[], options = { env }) => runCli(["query", ...args, ...b], options);
    const cases: [string, string[], number, RegExp][] = [
      ["unknown store", ["wc", "nope", "--key", "x"], 1, /UNKNOWN_STORE: .*stores: counts, hourly/],
      [
        "a number key for a string store",
        ["wc", "counts", "--json-keys", "--key", "42"],
        1,
        /BAD_KEY/,
      ],
      ["nothing to read", ["wc", "counts"], 2, /--key <key>, or --from/],
      ["a key and --all", ["wc", "counts", "--key", "a", "--all"], 2, /one of them/],
      [
        "--json-keys that is not JSON",
        ["wc", "counts", "--json-keys", "--key", "{x"],
        2,
        /not JSON/,
      ],
      ["an unknown app", ["nope", "counts", "--key", "a", "--timeout-ms", "500"], 1, /UNKNOWN_APP/],
      ["a bad time", ["wc", "hourly", "--key", "a", "--time-from", "soon"], 2, /--time-from soon/],
    ];
    for (const [what, args, status, message] of cases) {
      const r = fail(args);
      expect({ what, status: r.status }).toEqual({ what, status });
      expect(expectOneLineError(r)).toMatch(message);
    }
    const noSecret = fail(["wc", "counts", "--key", "kafka"], {
      env: { TRIBUTARY_QUERY_SECRET: "" },
    });
    expect(noSecret.status).toBe(1);
    expect(expectOneLineError(noSecret)).toMatch(/UNAUTHORIZED: .*TRIBUTARY_QUERY_SECRET/);
  });
});
