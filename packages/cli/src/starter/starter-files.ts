/**
 * The files `tributary init` writes: a word-count app, a test of it on the test driver, a
 * README with the commands to run it, and the package.json that installs both. Kept as
 * plain strings (not a template folder) so the published package needs no extra files
 * and the test of the starter reads exactly what a user gets.
 */
export interface StarterOptions {
  /** The npm package name and the app's applicationId. */
  name: string;
  /** A semver range for the @tributary packages, e.g. "^0.1.0". */
  tributaryRange: string;
}

/** vitest 4 is the newest line that runs on Node 20 (vitest 5 needs Node 22). */
const VITEST_RANGE = "^4.1.12";

export function starterFiles(o: StarterOptions): Record<string, string> {
  return {
    "package.json": `${JSON.stringify(
      {
        name: o.name,
        version: "0.1.0",
        private: true,
        type: "module",
        engines: { node: ">=20.19.4" },
        scripts: {
          test: "vitest run",
          describe: "tributary describe src/app.ts",
          start: "tributary run src/app.ts",
        },
        dependencies: {
          "@tributary/cli": o.tributaryRange,
          "@tributary/streams": o.tributaryRange,
        },
        devDependencies: { vitest: VITEST_RANGE },
      },
      null,
      2,
    )}\n`,
    ".gitignore": "node_modules/\n.tributary/\n",
    "src/app.ts": `import { Serdes, defineApp } from "@tributary/streams";

/** Splits a line into lower-case words; exported so the test computes its reference with it. */
export function splitWords(line: string): string[] {
  return line
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

/**
 * Lines of text in \`text-lines\`, a running count per word out to \`word-counts\`. The groupBy
 * changes the key (line -> word), so a repartition topic sends every occurrence of a word
 * to the one task that owns its count.
 */
export default defineApp({
  applicationId: ${JSON.stringify(o.name)},
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
`,
    "test/app.test.ts": `import { TopologyTestDriver } from "@tributary/streams/testing";
import { describe, expect, it } from "vitest";
import app, { splitWords } from "../src/app.js";

describe("word count", () => {
  it("counts every word of every line, in the test driver", () => {
    const lines = ["the quick brown fox", "the lazy dog", "The end"];
    const driver = new TopologyTestDriver(app);
    const input = driver.createInputTopic<string | null, string>("text-lines");
    const output = driver.createOutputTopic<string, number>("word-counts");
    lines.forEach((line, i) => input.pipeInput(null, line, 1000 + i));

    const reference = new Map<string, number>();
    for (const line of lines)
      for (const w of splitWords(line)) reference.set(w, (reference.get(w) ?? 0) + 1);
    expect(new Map(output.readKeyValuesToList())).toEqual(reference);
    driver.close();
  });
});
`,
    "README.md": `# ${o.name}

A Tributary app: word count over the topic \`text-lines\`, counts out to \`word-counts\`.

\`\`\`sh
npm install
npm test                                   # the topology in the test driver, no log needed
npx tributary topics create text-lines --partitions 2
npx tributary topics create word-counts --partitions 2
printf 'to be or not to be\\nto do\\n' | npx tributary produce text-lines
npx tributary run src/app.ts --until-caught-up
npx tributary consume word-counts --print-key --value-serde json
\`\`\`

With no \`--broker\`, every command works on \`./.tributary\` in this folder. Drop
\`--until-caught-up\` to keep the app running (Ctrl-C stops it); \`--workers N\` runs N
worker processes; \`npx tributary describe src/app.ts\` prints the compiled topology.
`,
  };
}
