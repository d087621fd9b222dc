import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectBroker } from "../src/broker/connect-broker.js";
import { RemoteLogService } from "../src/broker/remote-log-service.js";
import type { LogClient } from "../src/client/log-client.js";
import {
  type BrokerProc,
  type ChildProc,
  FIXTURES_DIR,
  rssBytes,
  spawnTs,
  startBrokerProcess,
  tempDir,
} from "./broker-helpers.js";

// A client that sends fetches and never reads the answers. Before the fix the broker read
// every request and kept every answer: 200 fetches grew it by 1.5 GB. Now it stops reading
// that connection once its unsent answers reach the per-connection bound (16 MiB by
// default, at most ~3x that in all, see ServerConnection.pump), and serves everyone else.
const REQUESTS = 1000; // of 1 MiB answers each: ~1 GB if the broker buffered them all
/** Broker at rest is ~100 MB; the bound allows 3 x 16 MiB for the non-reader, and slack. */
const RSS_BOUND = 300 * 1024 * 1024;

describe("a client that never reads its answers", () => {
  let dir: string;
  let broker: BrokerProc;
  let client: LogClient;
  let nonReader: ChildProc | undefined;

  beforeAll(async () => {
    dir = tempDir("never-reads");
    broker = await startBrokerProcess(dir);
    client = await connectBroker(broker.address);
    await client.admin.createTopic("big", { partitions: 1 });
    // 1 MiB of records, so each fetch of partition 0 at offset 0 answers ~1 MiB.
    const value = Buffer.alloc(4096, 7);
    await client.producer().send(
      "big",
      Array.from({ length: 256 }, () => ({ value })),
    );
  });

  afterAll(async () => {
    nonReader?.kill("SIGKILL");
    await client.close();
    broker.proc.kill("SIGTERM");
    await broker.proc.exited;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("stops being read, bounds the broker's memory, and leaves other clients served", async () => {
    const before = rssBytes(broker.proc.pid);
    nonReader = spawnTs(path.join(FIXTURES_DIR, "hostile-client.ts"), [
      broker.address,
      "nonreader",
      String(REQUESTS),
      "127.0.0.1",
      "big",
    ]);
    await nonReader.waitForLine((l) => l.includes('"event":"sent"'), "non-reader's requests");
    // The broker says when it stops reading a connection; before the fix it never did.
    await broker.proc.waitForErrLine(
      (l) => l.includes('"event":"reading-paused"'),
      "the broker pausing the non-reader",
      60_000,
    );
    // Meanwhile a well-behaved client is answered, and the broker's memory stays bounded
    // while it is (sampled around each of its requests).
    let peak = 0;
    const admin = client.admin;
    for (let i = 0; i < 50; i++) {
      const offsets = await admin.listOffsets("big", "latest");
      expect(offsets[0]!.offset).toBe(256);
      peak = Math.max(peak, rssBytes(broker.proc.pid));
    }
    expect(peak, `broker RSS ${peak} (was ${before} before the non-reader)`).toBeLessThan(
      RSS_BOUND,
    );
  }, 300_000); // a hang guard (loaded machines)

  it("still pipelines many fetches for a client that reads its answers", async () => {
    const remote = await RemoteLogService.connect(broker.address);
    const answers = await Promise.all(
      Array.from({ length: 200 }, () =>
        remote.fetch([{ topic: "big", partition: 0, offset: 0, maxBytes: 1 << 20 }], {
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1 << 20,
        }),
      ),
    );
    expect(answers.every((a) => a[0]!.records.length > 1_000_000)).toBe(true);
    await remote.close();
  });
});
