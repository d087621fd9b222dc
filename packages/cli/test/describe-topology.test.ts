import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { REPO, appDir, cleanup, cli, tempDir } from "./helpers.js";

afterEach(cleanup);

const WORD_COUNT = path.join(REPO, "examples/word-count/src/app.ts");

describe("tributary describe", () => {
  it("prints a TypeScript topology file's sub-topologies, stores, internal topics and its tasks on the log", () => {
    const data = tempDir();
    const before = cli(["describe", WORD_COUNT, "--data", path.join(data, "none")]);
    expect(before).toMatch(/^app word-count/);
    expect(before).toMatch(/Sub-topology: 0\n\s+Source: \S+ \(topics: \[text-lines\]\)/);
    expect(before).toMatch(/Sub-topology: 1/);
    expect(before).toMatch(/word-count-words-repartition \(repartition\)/);
    expect(before).toMatch(/word-count-counts-changelog \(changelog\)/);
    expect(before).toMatch(/counts in sub-topology 1, changelog word-count-counts-changelog/);
    expect(fs.existsSync(path.join(data, "none"))).toBe(false); // describe creates no data dir

    cli(["topics", "create", "text-lines", "--partitions", "3", "--data", data]);
    const after = cli(["describe", WORD_COUNT, "--data", data]);
    expect(after).toMatch(/tasks \(6\): 0_0 0_1 0_2 1_0 1_1 1_2/);

    const mermaid = cli(["describe", WORD_COUNT, "--mermaid"]);
    expect(mermaid.split("\n")[0]).toBe("flowchart TD");
    expect(mermaid).toMatch(/subgraph sub0/);
    expect(mermaid).toMatch(/\[\/"word-count-words-repartition"\/\]/);
  });

  it("shows a global table's store apart from the sub-topologies, read from its topic by every worker", () => {
    const file = path.join(appDir(), "enrich-global.ts");
    fs.writeFileSync(
      file,
      `import { Serdes, defineApp } from "@tributary/streams";
const str = Serdes.string();
export default defineApp({
  applicationId: "enrich-global",
  topology: (b) => {
    const titles = b.globalTable<string, string>("titles", { keySerde: str, valueSerde: str }, { storeName: "titles" });
    b.stream<string, string>("orders", { keySerde: str, valueSerde: str })
      .leftJoin(titles, (_k, book) => book, (book, title) => title ?? book)
      .to("enriched", { keySerde: str, valueSerde: str });
  },
});
`,
    );
    const out = cli(["describe", file, "--data", path.join(tempDir(), "none")]);
    expect(out).toMatch(/Global stores:\n\s+Source: \S+ \(topics: \[titles\]\)/);
    expect(out).toMatch(
      /Processor: \S+ \(stores: \[titles\]\)\n\s+~~~ left stream-global-table join/,
    );
    expect(out).toMatch(/titles global \(all partitions on every worker\), read from titles/);
    expect(out).toMatch(/internal topics:\n\s+none/);
  });
});
