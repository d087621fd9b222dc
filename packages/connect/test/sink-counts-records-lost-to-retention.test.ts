import { openEmbeddedLog } from "@tributary/log";
import { afterEach, describe, expect, it } from "vitest";
import { ConnectWorker, planConnectors } from "../src/index.js";
import { cleanup, tempDir, waitFor } from "./helpers.js";

afterEach(cleanup);

const HOUR = 3_600_000;

function records(from: number, n: number, timestamp: number) {
  return Array.from({ length: n }, (_, i) => ({
    key: Buffer.from(JSON.stringify({ id: from + i })),
    value: Buffer.from(JSON.stringify({ id: from + i, pad: ".".repeat(80) })),
    timestamp,
  }));
}

describe("a sink task behind its topic's retention", () => {
  it("counts the records retention deleted before it read them, and warns naming the partition", async () => {
    // The log's clock (retention's "now") jumps ahead while the sink is stopped.
    let ahead = 0;
    const log = await openEmbeddedLog(tempDir(), {
      now: () => Date.now() + ahead,
      maintenanceIntervalMs: 100,
    });
    const warnings: string[] = [];
    const file = {
      connectors: [
        { name: "files", type: "files-sink", topics: ["events"], config: { path: tempDir() } },
      ],
    };
    const start = async () => {
      const w = new ConnectWorker({
        log,
        plans: planConnectors(file),
        index: 0,
        workers: 1,
        warn: (m) => warnings.push(m),
      });
      await w.start();
      return w;
    };
    try {
      await log.admin.createTopic("events", {
        partitions: 1,
        config: { retentionMs: HOUR, segmentBytes: 2048 },
      });
      const producer = log.producer();
      await producer.send("events", records(0, 20, Date.now()));
      let worker = await start();
      await waitFor("the first 20 rows written", async () => {
        return worker.metrics.total("records_put") >= 20;
      });
      await worker.stop();
      const committed = (await log.admin.fetchCommittedOffsets("connect-files", ["events"]))[0]!
        .offset;
      expect(committed).toBe(20);

      // Stopped while 100 more arrive; two hours later every segment is past retention.
      await producer.send("events", records(20, 100, Date.now()));
      ahead = 2 * HOUR;
      const logStart = await waitFor("retention to delete the unread records", async () => {
        const [earliest] = await log.admin.listOffsets("events", "earliest");
        return earliest!.offset > committed ? earliest!.offset : undefined;
      });
      await producer.send("events", records(120, 10, Date.now() + ahead));
      await producer.close();

      worker = await start();
      await waitFor("the 10 new rows written", async () => {
        return worker.metrics.total("records_put") >= 10;
      });
      expect(worker.metrics.total("records_lost_to_retention")).toBe(logStart - committed);
      await worker.stop();
      const lost = warnings.filter((w) => w.includes("deleted by retention"));
      expect(lost).toHaveLength(1);
      expect(lost[0]).toContain(
        `${logStart - committed} offsets of events-0 (${committed} to ${logStart - 1})`,
      );
    } finally {
      await log.close();
    }
  });
});
