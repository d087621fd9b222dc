import { Serdes, defineApp } from "@tributary/streams";

/**
 * Word count: lines of text in `text-lines`, a running count per word out to
 * `word-counts`. The groupBy changes the key (line → word), so the compiler puts a
 * repartition topic before the count: every occurrence of a word reaches the one task
 * that owns its count, whichever worker read the line.
 */
export function splitWords(line: string): string[] {
  return line
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

export default defineApp({
  applicationId: "word-count",
  topology: (b) => {
    b.stream<string | null, string>("text-lines", {
      keySerde: Serdes.string(),
      valueSerde: Serdes.string(),
    })
      .flatMapValues((line) => splitWords(line))
      .groupBy((_key, word) => word, {
        name: "words",
        keySerde: Serdes.string(),
        valueSerde: Serdes.string(),
      })
      .count({ storeName: "counts" })
      .toStream()
      .to("word-counts", { keySerde: Serdes.string(), valueSerde: Serdes.json<number | null>() });
  },
});
