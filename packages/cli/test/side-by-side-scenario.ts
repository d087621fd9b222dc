import fs from "node:fs";
import path from "node:path";
import { type LogClient, openLog } from "@tributary/log";
import { appDir, tempDir } from "./helpers.js";

/**
 * The word-count app of side-by-side-reprocessing.test.ts and what the test reads and
 * writes with a log client of its own (a CLI process per read would cost seconds each on
 * a loaded machine). The app has a second output, `tokens`: one record per input line
 * (its words joined), so the real output can be checked per input record for gaps and
 * duplicates. Version 2 changes the tokeniser: it lower-cases.
 */
export const app = (lower: boolean) => `
import { Serdes, defineApp } from "@tributary/streams";
const str = Serdes.string();
const split = (line: string) => line${lower ? ".toLowerCase()" : ""}.split(/[^A-Za-z]+/).filter((w) => w.length > 0);
export default defineApp({
  applicationId: "wc",
  topology: (b) => {
    const lines = b.stream<string, string>("lines", { keySerde: str, valueSerde: str });
    lines.mapValues((line) => split(line).join(" ")).to("tokens", { keySerde: str, valueSerde: str });
    lines
      .flatMapValues(split)
      .groupBy((_k, w) => w, { name: "words", keySerde: str, valueSerde: str })
      .count({ storeName: "counts" })
      .toStream()
      .to("counts", { keySerde: str, valueSerde: Serdes.json<number | null>() });
  },
});
`;

const WORDS = ["alpha", "Alpha", "BETA", "beta", "gamma", "Delta", "delta", "Pi", "rho", "Sigma"];
const T0 = Date.parse("2024-03-01T00:00:00Z");

export interface Line {
  key: string;
  value: string;
  timestamp: number;
}

/**
 * Lines `from`..`from+n-1`, keyed line-<i>, one a minute of event time from 2024-03-01.
 * Each line depends on its index only, so lines(0, 500) is lines(0, 200) + lines(200, 300).
 */
export function lines(from: number, n: number): Line[] {
  return Array.from({ length: n }, (_, j) => {
    const i = from + j;
    let s = (17 + i * 7919) % 2 ** 31;
    // the high bits: the low ones of this generator repeat with a short period
    const next = () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return Math.floor(s / 65536);
    };
    next();
    return {
      key: `line-${String(i).padStart(5, "0")}`,
      value: Array.from({ length: 1 + (next() % 5) }, () => WORDS[next() % WORDS.length]).join(" "),
      timestamp: T0 + i * 60_000,
    };
  });
}

export function tokenise(line: string, lower: boolean): string[] {
  return (lower ? line.toLowerCase() : line).split(/[^A-Za-z]+/).filter((w) => w.length > 0);
}

/** The reference: count per word over `history`. */
export function counts(history: { value: string }[], lower: boolean): Map<string, number> {
  const c = new Map<string, number>();
  for (const l of history) for (const w of tokenise(l.value, lower)) c.set(w, (c.get(w) ?? 0) + 1);
  return c;
}

export interface Row {
  partition: number;
  offset: number;
  key: string;
  value: string;
}

/** Every record of `topic` up to its end now, in partition and offset order. */
export async function readTopic(log: LogClient, topic: string): Promise<Row[]> {
  const ends = await log.admin.listOffsets(topic, "latest");
  const rows: Row[] = [];
  const consumer = log.consumer({ autoOffsetReset: "earliest" });
  try {
    consumer.assign(ends.map((e) => ({ topic, partition: e.partition })));
    for (const e of ends) consumer.seek(e, 0);
    const left = new Map(ends.filter((e) => e.offset > 0).map((e) => [e.partition, e.offset]));
    while (left.size > 0) {
      for (const f of await consumer.poll({ maxWaitMs: 500 })) {
        for (const r of f.records) {
          if (r.offset >= (left.get(f.partition) ?? 0)) break;
          rows.push({
            partition: f.partition,
            offset: r.offset,
            key: r.key!.toString("utf8"),
            value: r.value!.toString("utf8"),
          });
        }
        if ((f.records.at(-1)?.offset ?? -1) + 1 >= (left.get(f.partition) ?? 0)) {
          left.delete(f.partition);
        }
      }
    }
  } finally {
    await consumer.close();
  }
  return rows.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** The offsets `group` has committed on `lines`, by partition. */
export async function committedLines(log: LogClient, group: string): Promise<Map<number, number>> {
  return new Map(
    (await log.admin.fetchCommittedOffsets(group, ["lines"])).map((c) => [c.partition, c.offset]),
  );
}

export const total = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/** A data dir, the two app files, the topics, and a log client on `broker`. */
export async function setUp(broker: string) {
  const data = tempDir();
  const apps = appDir();
  fs.writeFileSync(path.join(apps, "wc-v1.ts"), app(false));
  fs.writeFileSync(path.join(apps, "wc-v2.ts"), app(true));
  const log = await openLog({ broker });
  // The history is stamped in 2024: topics that keep it whatever its age.
  for (const t of ["lines", "counts", "tokens"]) {
    await log.admin.createTopic(t, { partitions: 2, config: { retentionMs: -1 } });
  }
  return {
    data,
    log,
    v1: path.join(apps, "wc-v1.ts"),
    v2: path.join(apps, "wc-v2.ts"),
    produce: async (rows: Line[]) => {
      const producer = log.producer();
      await producer.send(
        "lines",
        rows.map((r) => ({
          key: Buffer.from(r.key),
          value: Buffer.from(r.value),
          timestamp: r.timestamp,
        })),
      );
      await producer.close();
    },
  };
}
