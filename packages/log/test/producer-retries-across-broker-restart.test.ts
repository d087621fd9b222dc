import fs from "node:fs";
import { afterAll, expect, it } from "vitest";
import { connectBroker } from "../src/broker/connect-broker.js";
import { type BrokerProc, startBrokerProcess, tempDir } from "./broker-helpers.js";
import { readAll } from "../src/testing/log-client-contract.js";

const dir = tempDir("producer-retry");
const procs: BrokerProc[] = [];
afterAll(() => {
  for (const b of procs) b.proc.kill("SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
});

it("sends in flight when the broker dies are retried by the producer and complete after its restart", async () => {
  let broker = await startBrokerProcess(dir);
  procs.push(broker);
  const port = broker.address.split(":").at(-1)!;
  const client = await connectBroker(broker.address);
  // "always": each send waits for an fsync, so sends are in flight most of the time.
  await client.admin.createTopic("t", { partitions: 1, config: { flushPolicy: "always" } });
  const producer = client.producer({ deliveryTimeoutMs: 20_000 });

  let stop = false;
  const acked: number[] = [];
  const sender = (async () => {
    for (let i = 0; !stop; i++) {
      // Four sends in flight at a time, as a busy app would have.
      const sends = [0, 1, 2, 3].map((j) =>
        producer
          .send("t", [{ value: Buffer.from(String(i * 4 + j)) }])
          .then(() => acked.push(i * 4 + j)),
      );
      await Promise.all(sends);
    }
  })();

  await new Promise((r) => setTimeout(r, 300));
  broker.proc.kill("SIGKILL");
  await broker.proc.exited;
  await new Promise((r) => setTimeout(r, 200));
  broker = await startBrokerProcess(dir, ["--listen", `127.0.0.1:${port}`]);
  procs.push(broker);
  const ackedAtRestart = acked.length;
  await new Promise((r) => setTimeout(r, 500));
  stop = true;
  await sender; // rejects if any send failed: the app wrote no retry code
  expect(acked.length).toBeGreaterThan(ackedAtRestart);

  const [records] = await readAll(client, "t", 1);
  const stored = new Set(records!.map((r) => Number(r.value!.toString())));
  // At-least-once: every acked value is stored (a lost ack may store one twice).
  for (const v of acked) expect(stored.has(v)).toBe(true);
  await client.close();
});
