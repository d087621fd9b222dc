import fs from "node:fs";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { RemoteLogService } from "../src/broker/remote-log-service.js";
import { startBroker } from "../src/broker/run-broker.js";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import type { JoinGroupRequest } from "../src/client/log-service.js";
import { tempDir } from "./broker-helpers.js";

const LONG = 10 * 60 * 1000;

function join(memberId: string): JoinGroupRequest {
  return {
    groupId: "g",
    memberId,
    clientId: "c",
    topics: ["t"],
    sessionTimeoutMs: LONG,
    rebalanceTimeoutMs: LONG,
    assignor: "range",
    owned: [],
  };
}

describe("broker stop with requests that wait", () => {
  const dir = tempDir("broker-stop-waiting");
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  // Without the fix, stop() waits for the rebalance timeout and the long poll (10 minutes).
  it("answers a pending join and a long poll at once instead of waiting out their timeouts", async () => {
    const broker = await startBroker({
      dataDir: dir,
      address: "127.0.0.1:0",
      logger: pino({ level: "silent" }),
      logOptions: { groupInitialRebalanceDelayMs: 0, maintenanceIntervalMs: 0 },
    });
    const remote = await RemoteLogService.connect(broker.address);
    await remote.createTopic("t", { partitions: 2 });
    await remote.joinGroup(join(""));
    // A second member starts a rebalance that waits for the first to rejoin (10 minutes).
    const pendingJoin = remote.joinGroup(join("")).then(
      () => "joined",
      (err: { code: string }) => err.code,
    );
    const longPoll = remote
      .fetch([{ topic: "t", partition: 0, offset: 0, maxBytes: 1024 }], {
        maxWaitMs: LONG,
        minBytes: 1,
        maxBytes: 1024,
      })
      .then((r) => r.length);
    await remote.describeGroup("g"); // both requests have reached the broker
    await broker.stop();
    expect(await pendingJoin).toBe("CLOSED");
    expect(await longPoll).toBe(1);
    await remote.close();
    // The data dir is released.
    const reopened = await EmbeddedLogService.open(dir);
    await reopened.close();
  }, 120_000); // a hang guard; without the fix the wait is 10 minutes
});
