import fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { RemoteLogService } from "../src/broker/remote-log-service.js";
import { ProtocolError } from "../src/errors.js";
import { encodeBatch } from "../src/record-batch.js";
import { type BrokerProc, eventually, startBrokerProcess, tempDir } from "./broker-helpers.js";

describe("a broker client across a broker restart", () => {
  const dir = tempDir("broker-reconnect");
  const brokers: BrokerProc[] = [];

  afterAll(async () => {
    for (const b of brokers) b.proc.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("fails writes in flight as retriable CONNECTION, resends reads, and reconnects by itself", async () => {
    // A long initial rebalance delay keeps a join waiting on the broker.
    const first = await startBrokerProcess(dir, ["--group-delay", "60000"]);
    brokers.push(first);
    const port = first.address.split(":").at(-1)!;
    const remote = await RemoteLogService.connect(first.address, {
      reconnectBackoffMs: 20,
      reconnectBackoffMaxMs: 200,
    });
    await remote.createTopic("t", { partitions: 1 });

    // In flight when the broker dies: a write (a join, waiting out the rebalance delay) and
    // a read (a long-poll fetch).
    const join = remote
      .joinGroup({
        groupId: "g",
        memberId: "",
        clientId: "c",
        topics: ["t"],
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 10_000,
        assignor: "range",
        owned: [],
      })
      .catch((e: unknown) => e);
    const fetch = remote.fetch([{ topic: "t", partition: 0, offset: 0, maxBytes: 1 << 16 }], {
      maxWaitMs: 15_000,
      minBytes: 1,
      maxBytes: 1 << 16,
    });
    // The broker holds the join (pipelining answers the describe meanwhile).
    await eventually(async () => {
      const d = await remote.describeGroup("g");
      return d.state !== "Empty" && d.state !== "Dead" ? true : undefined;
    }, "join pending on the broker");
    first.proc.kill("SIGKILL");
    await first.proc.exited;

    const joinError = await join;
    expect(joinError).toBeInstanceOf(ProtocolError);
    expect(joinError).toMatchObject({ code: "CONNECTION", retriable: true });

    const second = await startBrokerProcess(dir, ["--listen", `127.0.0.1:${port}`]);
    brokers.push(second);
    // A call made while reconnecting waits for the new connection instead of failing.
    const ack = await remote.produce("t", 0, encodeBatch([{ value: Buffer.from("after") }]));
    expect(ack).toEqual({ baseOffset: 0, lastOffset: 0 });
    // The fetch was resent on the new connection and sees the record.
    const [r] = await fetch;
    expect(r!.highWatermark).toBe(1);
    expect(r!.records.length).toBeGreaterThan(0);
    await remote.close();
    await expect(remote.listTopics(false)).rejects.toMatchObject({ code: "CLOSED" });
  });
});
