import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type LogClient, openEmbeddedLog } from "@tributary/log";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../cli/test/helpers.js";
import {
  type BrowsedRecord,
  type ClusterView,
  type RunningConsole,
  startConsole,
} from "../src/index.js";

/**
 * The console's JSON API over a real embedded log: time search seeks by timestamp,
 * key search matches exact keys, every read is bounded, and bad requests are refused
 * with a 400 naming what was wrong.
 */
let dir: string;
let log: LogClient;
let running: RunningConsole;
const T0 = 1_700_000_000_000;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-console-api-"));
  log = await openEmbeddedLog(path.join(dir, "log"), { maintenanceIntervalMs: 0 });
  await log.admin.createTopic("events", { partitions: 1 });
  const producer = log.producer();
  await producer.send(
    "events",
    Array.from({ length: 100 }, (_, i) => ({
      key: Buffer.from(`user-${i % 4}`),
      value: i === 99 ? Buffer.from([0, 1, 2, 255]) : Buffer.from(`event ${i}`),
      timestamp: T0 + i * 1000,
    })),
  );
  await producer.close();
  running = await startConsole({ log, port: 0, sampleIntervalMs: 200 });
});

afterAll(async () => {
  await running?.close();
  await log?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The fields of the API's answers these tests read. */
interface Answer {
  records: BrowsedRecord[];
  cluster: ClusterView;
  error: string;
  code: string;
}

async function get(pathAndQuery: string): Promise<{ status: number; body: Answer }> {
  const res = await fetch(new URL(pathAndQuery, running.url));
  return { status: res.status, body: (await res.json()) as Answer };
}

describe("the console's API", () => {
  it("searches by time range and key, shows binary values as base64, and tails within its bound", async () => {
    const from = new Date(T0 + 90_000).toISOString();
    const byTime = await get(`/api/topics/events/search?from=${from}&to=${T0 + 94_000}`);
    expect(byTime.status).toBe(200);
    expect(byTime.body.records.map((r) => r.offset)).toEqual([90, 91, 92, 93, 94]);

    const byKey = await get(`/api/topics/events/search?key=user-3&from=${T0 + 80_000}`);
    expect(byKey.body.records.map((r) => r.offset)).toEqual([83, 87, 91, 95, 99]);
    const last = byKey.body.records.at(-1)!;
    expect(last.key).toEqual({ encoding: "utf8", data: "user-3", length: 6 });
    expect(last.value).toEqual({ encoding: "base64", data: "AAEC/w==", length: 4 });

    const tail = await get("/api/topics/events/tail?partition=0&limit=100000");
    expect(tail.body.records).toHaveLength(100); // the whole partition, under the bound of 500
    expect(tail.body.records[0]!.offset).toBe(0);

    const overview = await get("/api/overview");
    const events = overview.body.cluster.topics.find((t) => t.name === "events")!;
    expect(events.partitions[0]).toMatchObject({ logStartOffset: 0, logEndOffset: 100 });
  });

  it("refuses an unknown topic, a missing partition and a malformed time with a 400 naming it", async () => {
    const unknown = await get("/api/topics/nope/tail");
    expect(unknown).toEqual({
      status: 400,
      body: { code: "BAD_REQUEST", error: "topic 'nope' does not exist" },
    });
    const partition = await get("/api/topics/events/tail?partition=3");
    expect(partition.status).toBe(400);
    expect(partition.body.error).toBe(
      "topic 'events' has partitions 0 to 0: there is no partition 3",
    );
    const time = await get("/api/topics/events/search?from=yesterday");
    expect(time.status).toBe(400);
    expect(time.body.error).toMatch(
      /^from=yesterday is not a time: give ms since the epoch or ISO 8601/,
    );
  });

  it("tributary console refuses a --listen that is not host:port, in one line", () => {
    const r = runCli(["console", "--listen", "9690", "--data", path.join(dir, "none")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "tributary: --listen 9690: expected host:port, e.g. 127.0.0.1:9690 (port 0 picks a free one)\n",
    );
  });
});
