import fs from "node:fs";
import { afterAll, expect, it } from "vitest";
import { connectBroker } from "../src/broker/connect-broker.js";
import type { FetchedPartition } from "../src/client/log-client.js";
import { type BrokerProc, startBrokerProcess, tempDir } from "./broker-helpers.js";

const dir = tempDir("consumer-rejoin");
const brokers: BrokerProc[] = [];
afterAll(() => {
  for (const b of brokers) b.proc.kill("SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
});

it("a member whose join is pending when the broker stops keeps polling and rejoins once it is back", async () => {
  let broker = await startBrokerProcess(dir);
  brokers.push(broker);
  const port = broker.address.split(":").at(-1)!;
  const setup = await connectBroker(broker.address);
  await setup.admin.createTopic("t", { partitions: 2 });
  await setup.close();

  // A joins and then stays silent, so B's join waits on A's rejoin (the rebalance).
  const clientA = await connectBroker(broker.address);
  const a = clientA.consumer({ groupId: "g", autoOffsetReset: "earliest" });
  await a.subscribe(["t"]);
  await a.poll({ maxWaitMs: 10 });
  expect(a.assignment()).toHaveLength(2);

  const clientB = await connectBroker(broker.address);
  const b = clientB.consumer({
    groupId: "g",
    autoOffsetReset: "earliest",
    sessionTimeoutMs: 3000,
    rebalanceTimeoutMs: 60_000,
  });
  await b.subscribe(["t"]);
  const firstPoll = b.poll({ maxWaitMs: 100 });
  await new Promise((r) => setTimeout(r, 300));

  // A clean stop answers B's pending join with a retriable CLOSED: B's poll must not fail.
  broker.proc.kill("SIGTERM");
  await broker.proc.exited;
  expect(await firstPoll).toEqual([]);

  broker = await startBrokerProcess(dir, ["--listen", `127.0.0.1:${port}`]);
  brokers.push(broker);
  const producer = await connectBroker(broker.address);
  await producer.producer().send("t", [{ value: Buffer.from("after"), partition: 1 }]);

  const got: string[] = [];
  const deadline = Date.now() + 60_000;
  while (got.length === 0 && Date.now() < deadline) {
    const polled: FetchedPartition[] = await b.poll({ maxWaitMs: 100 });
    for (const fp of polled) for (const r of fp.records) got.push(r.value!.toString());
  }
  expect(got).toEqual(["after"]);
  expect(b.assignment()).toHaveLength(2);
  await Promise.allSettled([clientA.close(), clientB.close(), producer.close()]);
});
