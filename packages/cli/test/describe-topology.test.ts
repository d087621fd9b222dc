import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { REPO, cleanup, cli, tempDir } from "./helpers.js";

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
});
