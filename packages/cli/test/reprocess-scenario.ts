import { cli, jsonLines } from "./helpers.js";

/**
 * The reprocessing scenario shared by reprocess-history.test.ts (embedded log) and
 * packages/kafka/test/kafka-cli-reset-reprocess.test.ts (Kafka): a word-count app, the
 * generated history of lines it reads, the reference counts, and what the tests read back
 * with the `tributary` command. `where` is the CLI's backend flags: `--data DIR` or
 * `--kafka BROKERS`.
 */

/**
 * The app's source: counts the words of `input` at least `minLength` letters long, into
 * `output`, with the store `counts` and the repartition topic `words`.
 */
export function wordCountApp(o: {
  applicationId: string;
  input: string;
  output: string;
  minLength: number;
}): string {
  return `
import { Serdes, defineApp } from "@tributary/streams";
const str = Serdes.string();
export default defineApp({
  applicationId: "${o.applicationId}",
  topology: (b) => {
    b.stream<string | null, string>("${o.input}", { keySerde: str, valueSerde: str })
      .flatMapValues((line) => line.toLowerCase().split(/[^a-z]+/).filter((w) => w.length >= ${o.minLength}))
      .groupBy((_k, w) => w, { name: "words", keySerde: str, valueSerde: str })
      .count({ storeName: "counts" })
      .toStream()
      .to("${o.output}", { keySerde: str, valueSerde: Serdes.json<number | null>() });
  },
});
`;
}

export const WORDS = [
  "alpha",
  "beta",
  "gamma",
  "delta",
  "pi",
  "rho",
  "sigma",
  "tau",
  "omega",
  "mu",
  "kappa",
];

/** `n` lines of 1 to 6 of `words`, from seed `seed`, one a minute from `t0`. */
export function lines(
  n: number,
  seed: number,
  t0: number,
  words: readonly string[] = WORDS,
): { value: string; timestamp: number }[] {
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s;
  };
  return Array.from({ length: n }, (_, i) => ({
    value: Array.from({ length: 1 + (next() % 6) }, () => words[next() % words.length]).join(" "),
    timestamp: t0 + i * 60_000,
  }));
}

/** Count per word of at least `minLength` letters over `history`. */
export function reference(history: { value: string }[], minLength: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const l of history) {
    for (const w of l.value.toLowerCase().split(/[^a-z]+/)) {
      if (w.length >= minLength) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  }
  return counts;
}

/** The last count per word in an output topic: the table its stream of updates makes. */
export function latestCounts(topic: string, where: string[]): Map<string, number> {
  const out = new Map<string, number>();
  const rows = jsonLines<{ key: string; value: number }>(
    cli(["consume", topic, "--format", "json", "--value-serde", "json", ...where]),
  );
  for (const r of rows) out.set(r.key, r.value);
  return out;
}

export interface Group {
  members: unknown[];
  offsets: { topic: string; partition: number; offset: number; lag: number }[];
}

/** `tributary groups describe` of the app's group. */
export function describeGroup(applicationId: string, where: string[]): Group {
  return JSON.parse(
    cli(["groups", "describe", applicationId, "--format", "json", ...where]),
  ) as Group;
}
