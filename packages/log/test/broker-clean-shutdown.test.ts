import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findRunningBroker } from "../src/broker/broker-info.js";
import { RemoteLogService } from "../src/broker/remote-log-service.js";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import { encodeBatch } from "../src/record-batch.js";
import { type BrokerProc, startBrokerProcess, tempDir } from "./broker-helpers.js";

describe("broker shutdown on SIGTERM", () => {
  const dir = tempDir("broker-shutdown");
  let broker: BrokerProc | undefined;

  afterAll(() => {
    broker?.proc.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("answers the requests in flight, releases the data dir, removes broker.json, exits 0", async () => {
    broker = await startBrokerProcess(dir);
    expect(findRunningBroker(dir)?.pid).toBe(broker.proc.pid);
    const remote = await RemoteLogService.connect(broker.address, { reconnectBackoffMs: 10_000 });
    await remote.createTopic("t", { partitions: 1 });
    await remote.produce("t", 0, encodeBatch([{ value: Buffer.from("kept") }]));
    // Waiting on the broker when the signal comes: a long poll past the end of the log.
    const fetch = remote.fetch([{ topic: "t", partition: 0, offset: 1, maxBytes: 1024 }], {
      maxWaitMs: 1500,
      minBytes: 1,
      maxBytes: 1024,
    });
    await new Promise((r) => setTimeout(r, 200));
    broker.proc.kill("SIGTERM");
    // It got its answer (nothing new arrived), not a dropped connection.
    const [r] = await fetch;
    expect(r!.highWatermark).toBe(1);
    expect((await broker.proc.exited).code).toBe(0);
    expect(fs.existsSync(path.join(dir, "broker.json"))).toBe(false);
    expect(findRunningBroker(dir)).toBeUndefined();
    await remote.close();
    // The lock is free and the data is there.
    const reopened = await EmbeddedLogService.open(dir);
    expect((await reopened.listOffsets("t", "latest"))[0]!.offset).toBe(1);
    await reopened.close();
  });
});
