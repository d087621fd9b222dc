import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { connectBroker } from "../src/broker/connect-broker.js";
import { TributaryError } from "../src/errors.js";
import type { LogClient } from "../src/client/log-client.js";
import { type BrokerProc, eventually, startBrokerProcess } from "./broker-helpers.js";
import { fillDisk, mountTmpfs, seqOf, seqValue, unmountAll } from "./storage-helpers.js";

const brokers: BrokerProc[] = [];
afterEach(async () => {
  for (const b of brokers.splice(0)) {
    b.proc.kill("SIGKILL");
    await b.proc.exited;
  }
  unmountAll();
});

async function start(dataDir: string): Promise<{ broker: BrokerProc; client: LogClient }> {
  const broker = await startBrokerProcess(dataDir);
  brokers.push(broker);
  return { broker, client: await connectBroker(broker.address) };
}

async function stop(broker: BrokerProc): Promise<number | null> {
  broker.proc.kill("SIGTERM");
  const { code } = await broker.proc.exited;
  brokers.splice(brokers.indexOf(broker), 1);
  return code;
}

function send(client: LogClient, first: number, n: number, deliveryTimeoutMs: number) {
  return client.producer({ deliveryTimeoutMs }).send(
    "t",
    Array.from({ length: n }, (_, i) => ({ key: null, value: seqValue(first + i, 100) })),
  );
}

async function consumeAll(client: LogClient, groupId: string, count: number): Promise<number[]> {
  const consumer = client.consumer({ groupId, autoOffsetReset: "earliest" });
  await consumer.subscribe(["t"]);
  const seen: number[] = [];
  await eventually(async () => {
    for (const p of await consumer.poll({ maxWaitMs: 200 })) seen.push(...p.records.map(seqOf));
    return seen.length >= count ? true : undefined;
  }, `${count} records consumed`);
  // Group commits are small writes the reserve leaves room for.
  await consumer.commit();
  await consumer.close();
  return seen;
}

describe("a broker on a full disk", () => {
  it("answers produce with a retriable DISK_FULL, stops cleanly, starts read-only serving every record, and takes produce again once space is freed", async () => {
    const disk = mountTmpfs(8 * 1024 * 1024);
    const data = path.join(disk, "data");
    let { broker, client } = await start(data);
    await client.admin.createTopic("t", { partitions: 1 });
    await send(client, 0, 200, 5000);
    const filler = fillDisk(disk);

    const refused = await send(client, 200, 200, 1000).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TributaryError);
    expect(refused).toMatchObject({ code: "DISK_FULL", retriable: true });
    expect((refused as Error).message).toMatch(/ENOSPC.*free space/);
    await client.close();
    // SIGTERM on a full disk: the broker stops with exit 0 (the next open re-verifies).
    expect(await stop(broker)).toBe(0);

    ({ broker, client } = await start(data));
    expect(broker.proc.stderr.join("")).toMatch(/"event":"disk-full-start"/);
    expect(await consumeAll(client, "g", 200)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const readOnly = await send(client, 200, 1, 1000).catch((e: unknown) => e);
    expect(readOnly).toMatchObject({ code: "DISK_FULL", retriable: true });
    expect((readOnly as Error).message).toMatch(/started on a full disk/);

    fs.rmSync(filler);
    expect(await send(client, 200, 100, 30_000)).toEqual([
      { topic: "t", partition: 0, baseOffset: 200, lastOffset: 299 },
    ]);
    expect(await consumeAll(client, "h", 300)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    await client.close();
    expect(await stop(broker)).toBe(0);
  });
});
