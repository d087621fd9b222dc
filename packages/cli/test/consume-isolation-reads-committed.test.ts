import { openEmbeddedLog } from "@tributary/log";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, jsonLines, runCli, tempDir } from "./helpers.js";

afterEach(cleanup);

interface Line {
  offset: number;
  value: unknown;
}

const rec = (i: number) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(String(i)) });

describe("consume --isolation on the embedded log", () => {
  it("read_committed prints committed and plain records up to an open transaction; read_uncommitted prints all but markers", async () => {
    const data = tempDir();
    const log = await openEmbeddedLog(data, { maintenanceIntervalMs: 0 });
    await log.admin.createTopic("orders", { partitions: 1 });
    const p = log.transactionalProducer({
      transactionalId: "cli-isolation",
      transactionTimeoutMs: 900_000,
    });
    await p.initTransactions();
    await p.beginTransaction();
    await p.send("orders", [rec(0), rec(1)]);
    await p.commitTransaction();
    await p.beginTransaction();
    await p.send("orders", [rec(2), rec(3)]);
    await p.abortTransaction();
    await log.producer().send("orders", [rec(4)]);
    await p.beginTransaction();
    await p.send("orders", [rec(5)]); // still open when the CLI reads
    await log.producer().send("orders", [rec(6)]);
    await log.close();

    const read = (isolation: string) => {
      const r = runCli(
        ["consume", "orders", "--isolation", isolation, "--format", "json", "--data", data],
        {},
      );
      expect(r.status).toBe(0);
      return { lines: jsonLines<Line>(r.stdout), stderr: r.stderr };
    };
    const committed = read("read_committed");
    // Offsets: 0,1 committed; 2 marker; 3,4 aborted; 5 marker; 6 plain; 7 open; 8 plain.
    expect(committed.lines.map((l) => [l.offset, l.value])).toEqual([
      [0, "0"],
      [1, "1"],
      [6, "4"],
    ]);
    expect(committed.stderr).toMatch(/stopped at the last stable offset/);
    const all = read("read_uncommitted");
    expect(all.lines.map((l) => [l.offset, l.value])).toEqual([
      [0, "0"],
      [1, "1"],
      [3, "2"],
      [4, "3"],
      [6, "4"],
      [7, "5"],
      [8, "6"],
    ]);
  });
});
