import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseBrokerAddress } from "../src/broker/broker-address.js";
import { connectBroker } from "../src/broker/connect-broker.js";
import {
  type BrokerProc,
  type ChildProc,
  FIXTURES_DIR,
  spawnTs,
  startBrokerProcess,
  tempDir,
} from "./broker-helpers.js";
import { outOfOrder, readNumbersBack } from "./read-back-helpers.js";

/**
 * The network, not the broker, fails: a proxy between the producer and a healthy broker
 * cuts connections in the middle of frames, some while a Produce request is half sent (the
 * broker must drop the torn frame), some after the broker has appended a batch but before
 * its answer got through (the producer re-sends, the broker must recognise the retry by its
 * producer id and sequence). Every acknowledged record is stored once, in send order.
 */
const PARTITIONS = 3;
const RECORDS = 12_000;
const CUTS = 12;

/** A deterministic generator, so a failing run can be told apart by its seed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface CuttingProxy {
  address: string;
  cuts: { requestTorn: number; answerLost: number };
  close(): Promise<void>;
}

/**
 * Forwards every connection to `target`; the first CUTS connections are each cut after a
 * random number of bytes, alternately in the client→broker direction (a torn request) and
 * the broker→client direction (a lost answer). The cut forwards part of the chunk it falls
 * in, so frames end mid-way.
 */
async function cuttingProxy(target: string, seed: number): Promise<CuttingProxy> {
  const next = random(seed);
  const upstreamAt = parseBrokerAddress(target);
  if (upstreamAt.transport !== "tcp")
    throw new Error(`the proxy needs a TCP broker, not ${target}`);
  const { host, port } = upstreamAt;
  const cuts = { requestTorn: 0, answerLost: 0 };
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const n = connections++;
    const upstream = net.connect(port, host);
    sockets.add(client).add(upstream);
    for (const s of [client, upstream]) s.on("close", () => sockets.delete(s));
    const cutting = cuts.requestTorn + cuts.answerLost < CUTS;
    const tearRequest = n % 2 === 0;
    // Answers are ~60–100 bytes, requests of 10 records a few hundred: a budget of a few
    // KB cuts after tens of sends, so the cuts spread over the run.
    let budget = cutting ? Math.floor(1500 + next() * (tearRequest ? 40_000 : 6000)) : Infinity;
    const cut = () => {
      if (tearRequest) cuts.requestTorn++;
      else cuts.answerLost++;
      client.destroy();
      upstream.destroy();
    };
    const forward = (from: net.Socket, to: net.Socket, counted: boolean) =>
      from.on("data", (chunk: Buffer) => {
        if (!counted || chunk.length < budget) {
          if (counted) budget -= chunk.length;
          to.write(chunk);
          return;
        }
        to.write(chunk.subarray(0, Math.max(1, Math.floor(budget))), cut);
        budget = 0;
      });
    forward(client, upstream, tearRequest);
    forward(upstream, client, !tearRequest);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    address,
    cuts,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("an idempotent producer whose connections are cut mid-frame", () => {
  const dir = tempDir("dropped-connections");
  const procs: ChildProc[] = [];
  let broker: BrokerProc | undefined;
  let proxy: CuttingProxy | undefined;
  afterAll(async () => {
    for (const p of procs) p.kill("SIGKILL");
    await proxy?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`stores every acked record exactly once, in order, across ${CUTS} cuts`, async () => {
    broker = await startBrokerProcess(dir);
    procs.push(broker.proc);
    const setup = await connectBroker(broker.address);
    await setup.admin.createTopic("t", { partitions: PARTITIONS });
    await setup.close();
    const seed = Number(process.env.TRIBUTARY_PROXY_SEED ?? Date.now() % 100_000);
    console.log(JSON.stringify({ proxySeed: seed }));
    proxy = await cuttingProxy(broker.address, seed);

    const producer = spawnTs(path.join(FIXTURES_DIR, "retrying-producer.ts"), [
      proxy.address,
      "t",
      String(RECORDS),
      "10",
      "8",
      "true",
    ]);
    procs.push(producer);
    await producer.waitForLine((l) => l.includes('"done"') || l.includes('"failed"'), "done");
    expect(producer.events<{ failed?: string }>().flatMap((e) => e.failed ?? [])).toEqual([]);
    expect((await producer.exited).code).toBe(0);
    const acked = producer.events<{ acked?: number[] }>().flatMap((e) => e.acked ?? []);
    expect(new Set(acked).size).toBe(RECORDS);
    // The cuts happened, both kinds, while the producer was sending.
    expect(proxy.cuts.requestTorn).toBeGreaterThan(0);
    expect(proxy.cuts.answerLost).toBeGreaterThan(0);

    // Read back directly from the broker, past the proxy.
    const byPartition = await readNumbersBack(broker.address, "t", PARTITIONS);
    const all = byPartition.flat();
    const seen = new Set(all);
    console.log(JSON.stringify({ cuts: proxy.cuts, stored: all.length }));
    expect([...Array(RECORDS).keys()].filter((n) => !seen.has(n))).toEqual([]);
    expect(all.length - seen.size).toBe(0);
    expect(all.length).toBe(RECORDS);
    expect(outOfOrder(byPartition)).toEqual([]);
  }, 600_000);
});
