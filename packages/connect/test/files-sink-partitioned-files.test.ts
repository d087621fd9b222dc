import * as fs from "node:fs";
import * as path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, openTestLog, startWorker, tempDir, waitFor } from "./helpers.js";

afterEach(cleanup);

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 4, 1, 10, 30); // 2026-05-01 10:30 UTC

function envelope(id: number, op: string, name: string) {
  return JSON.stringify({
    before: null,
    after: op === "d" ? null : { id, name, score: id * 1.5 },
    op,
    ts_ms: T0,
    source: { ts_ms: T0 },
  });
}

function listFiles(root: string): string[] {
  return (fs.readdirSync(root, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(root, f)).isFile())
    .sort();
}

describe.each(["jsonl", "parquet"] as const)("the files sink (%s)", (format) => {
  it("writes hour-partitioned files named by their offsets, which a restart neither repeats nor loses, and DuckDB reads", async () => {
    const log = await openTestLog();
    await log.admin.createTopic("shop.customers", { partitions: 1 });
    const producer = log.producer();
    // 60 records in hour 10, then 40 in hour 11.
    await producer.send(
      "shop.customers",
      Array.from({ length: 100 }, (_, i) => ({
        key: Buffer.from(JSON.stringify({ id: i })),
        value: Buffer.from(envelope(i, "c", `n${i}`)),
        timestamp: T0 + (i < 60 ? 0 : HOUR),
      })),
    );
    const out = tempDir();
    const file = {
      connectors: [
        {
          name: `files-${format}`,
          type: "files-sink",
          topics: ["shop.customers"],
          config: { path: out, format },
        },
      ],
    };
    let worker = await startWorker(log, file);
    const rowsWritten = () => worker.metrics.total("rows_written");
    await waitFor("100 rows in files", async () => rowsWritten() >= 100);
    await worker.stop();
    const first = listFiles(out);
    expect(
      first.every((f) =>
        /^shop\.customers\/dt=2026-05-01\/hour=1[01]\/shop\.customers\+0\+\d{20}-\d{20}\./.test(f),
      ),
    ).toBe(true);
    expect(first.some((f) => f.includes("hour=10/"))).toBe(true);
    expect(first.some((f) => f.includes("hour=11/"))).toBe(true);

    // Redelivery (the group's offsets moved back, as after a crash before the commit):
    // the records already in files are skipped, the new ones land once.
    await log.admin.resetOffsets(`connect-files-${format}`, { to: "earliest" });
    await producer.send("shop.customers", [
      {
        key: Buffer.from(JSON.stringify({ id: 100 })),
        value: Buffer.from(envelope(100, "c", "late")),
        timestamp: T0 + HOUR,
      },
    ]);
    worker = await startWorker(log, file);
    await waitFor(
      "the new record in a file",
      async () => rowsWritten() >= 1 && listFiles(out).length > first.length,
    );
    await waitFor(
      "the redelivered records skipped",
      async () => worker.metrics.total("records_already_in_files") >= 100,
    );
    await producer.close();

    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    const glob = path.join(out, "shop.customers", "**", `*.${format}`);
    const reader =
      format === "jsonl"
        ? `read_json_auto('${glob}', hive_partitioning = true)`
        : `read_parquet('${glob}', hive_partitioning = true)`;
    const result = await conn.runAndReadAll(
      `SELECT count(*)::INT AS n, count(DISTINCT __offset)::INT AS offsets, min(id)::INT AS lo, max(id)::INT AS hi,
              sum(CASE WHEN hour = 11 THEN 1 ELSE 0 END)::INT AS in11 FROM ${reader}`,
    );
    expect(result.getRowObjects()).toEqual([{ n: 101, offsets: 101, lo: 0, hi: 100, in11: 41 }]);
    conn.closeSync();
  });
});
