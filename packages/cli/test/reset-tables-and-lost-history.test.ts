import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  appDir,
  cleanup,
  cli,
  eventually,
  jsonLines,
  runCli,
  startBroker,
  tempDir,
} from "./helpers.js";

afterEach(cleanup);

// Orders enriched with book titles: titles is read as a table (a lookup), orders as a stream.
const ENRICH = `
import { Serdes, defineApp } from "@tributary/streams";
const str = Serdes.string();
export default defineApp({
  applicationId: "enrich",
  topology: (b) => {
    const titles = b.table<string, string>("titles", { keySerde: str, valueSerde: str });
    b.stream<string, string>("orders", { keySerde: str, valueSerde: str })
      .leftJoin(titles, (order, title) => JSON.stringify({ order, title: title ?? null }))
      .to("enriched", { keySerde: str, valueSerde: str });
  },
});
`;

const rows = (n: number, prefix: string, timestamp: number) =>
  Array.from({ length: n }, (_, i) =>
    JSON.stringify({ key: `book-${i}`, value: `${prefix}-${i}`, timestamp }),
  ).join("\n");

describe("reset and history", () => {
  it("reset --by-duration re-reads table inputs from the earliest offset, and the plan says so", () => {
    const data = tempDir();
    const apps = appDir();
    const file = path.join(apps, "enrich.ts");
    fs.writeFileSync(file, ENRICH);
    for (const t of ["titles", "orders", "enriched"]) {
      cli(["topics", "create", t, "--partitions", "2", "--data", data]);
    }
    const twoHoursAgo = Date.now() - 2 * 3_600_000;
    cli(["produce", "titles", "--format", "json", "--data", data], {
      input: rows(2000, "title", twoHoursAgo),
    });
    cli(["produce", "orders", "--format", "json", "--data", data], {
      input: rows(2000, "old-order", twoHoursAgo + 1),
    });
    const run = ["run", file, "--until-caught-up", "--progress", "none", "--data", data];
    const first = runCli(run);
    expect(first.status, first.stderr).toBe(0);

    // An hour back: every order and title is older, so the stream input moves to its end;
    // the table input goes back to its start, as its store is deleted.
    const plan = cli(["reset", file, "--by-duration", "PT1H", "--dry-run", "--data", data]);
    expect(plan).toMatch(
      /^titles\s+[01]\s+\d+\s+→\s+0\s+table input: re-read from the earliest offset$/m,
    );
    expect(plan).toMatch(/^orders\s+[01]\s+(\d+)\s+→\s+\1$/m);
    // --tables-from same: the table input would move to its end with the stream input.
    const same = cli([
      "reset",
      file,
      "--by-duration",
      "PT1H",
      "--tables-from",
      "same",
      "--dry-run",
      "--data",
      data,
    ]);
    expect(same).toMatch(/^titles\s+[01]\s+(\d+)\s+→\s+\1$/m);
    cli(["reset", file, "--by-duration", "PT1H", "--data", data]);

    cli(["produce", "orders", "--format", "json", "--data", data], {
      input: rows(2000, "new-order", Date.now()),
    });
    const rerun = runCli(run);
    expect(rerun.status, rerun.stderr).toBe(0);
    const joined = jsonLines<{ value: string }>(
      cli(["consume", "enriched", "--format", "json", "--data", data]),
    )
      .map((l) => JSON.parse(l.value) as { order: string; title: string | null })
      .filter((r) => r.order.startsWith("new-order"));
    expect(joined).toHaveLength(2000);
    expect(joined.filter((r) => r.title === null)).toHaveLength(0);
    for (const r of joined) expect(r.title).toBe(r.order.replace("new-order", "title"));
  });

  it("a reset plan warns when a partition's first records are gone", async () => {
    const data = tempDir();
    cli(["topics", "create", "old", "--data", data]);
    const broker = await startBroker(data);
    const at = ["--broker", broker.address];
    const produced = runCli(["produce", "old", "--format", "json", ...at], {
      input: rows(50, "v", Date.parse("2024-05-01T00:00:00Z")),
    });
    expect(produced.stderr).toMatch(
      /warning: records stamped before .* older than old's retention/,
    );
    cli(["consume", "old", "--group", "g", ...at]);
    // The broker's retention check (every 30 s) deletes the 2024 records.
    await eventually("retention to delete the old records", () =>
      cli(["consume", "old", ...at]) === "" ? true : undefined,
    );
    const r = runCli(["reset", "--app", "g", "--to-earliest", "--dry-run", ...at]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /warning: old-0 starts at offset 50: records 0 to 49 were deleted \(retention or compaction\) and cannot be reprocessed/,
    );
  });
});
