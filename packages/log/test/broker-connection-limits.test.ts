import fs from "node:fs";
import * as net from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseBrokerAddress } from "../src/broker/broker-address.js";
import { connectBroker } from "../src/broker/connect-broker.js";
import { FrameDecoder, encodeFrameHeader } from "../src/broker/frame-codec.js";
import { ApiKey, PROTOCOL_VERSION, packBody, unpackBody } from "../src/broker/protocol.js";
import type { LogClient } from "../src/client/log-client.js";
import {
  type BrokerProc,
  type ChildProc,
  FIXTURES_DIR,
  eventually,
  spawnTsWithFdLimit,
  startBrokerProcess,
  tempDir,
} from "./broker-helpers.js";

interface RawConn {
  socket: net.Socket;
  frames: { apiKey: number; body: { ok?: unknown; error?: { code: string; message: string } } }[];
  closed: boolean;
}

/** A raw connection from `localAddress`, optionally shaking hands; collects what comes back. */
function raw(address: string, localAddress: string, shakeHands: boolean): Promise<RawConn> {
  const a = parseBrokerAddress(address);
  if (a.transport !== "tcp") throw new Error("tcp expected");
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: a.host, port: a.port, localAddress });
    const conn: RawConn = { socket, frames: [], closed: false };
    const decoder = new FrameDecoder();
    socket.on("data", (d) =>
      decoder.push(d, (f) =>
        conn.frames.push({
          apiKey: f.apiKey,
          body: unpackBody(f.body) as RawConn["frames"][0]["body"],
        }),
      ),
    );
    socket.on("error", () => {});
    socket.on("close", () => {
      conn.closed = true;
    });
    socket.once("error", reject);
    socket.on("connect", () => {
      if (!shakeHands) return resolve(conn);
      const body = packBody({ version: PROTOCOL_VERSION });
      socket.write(Buffer.concat([encodeFrameHeader(1, ApiKey.Handshake, body.length), body]));
      // Accepted (handshake answered) or refused (error frame, then closed).
      void eventually(() => (conn.frames.length > 0 ? true : undefined), "an answer").then(
        () => resolve(conn),
        reject,
      );
    });
  });
}

const refusalOf = (c: RawConn) =>
  c.frames[0]?.apiKey === ApiKey.Error ? c.frames[0].body.error?.message : undefined;

describe("broker connection limits", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function broker(args: string[], nofile?: number): Promise<BrokerProc> {
    const dir = tempDir("conn-limits");
    const b = await startBrokerProcess(dir, args, nofile);
    cleanups.push(async () => {
      b.proc.kill("SIGKILL");
      await b.proc.exited;
      fs.rmSync(dir, { recursive: true, force: true });
    });
    return b;
  }

  function hostile(address: string, mode: string, count: number, from: string): ChildProc {
    const p = spawnTsWithFdLimit(
      path.join(FIXTURES_DIR, "hostile-client.ts"),
      [address, mode, String(count), from],
      count + 1024,
    );
    cleanups.push(() => p.kill("SIGKILL"));
    return p;
  }

  async function settled(
    p: ChildProc,
  ): Promise<{ accepted: number; refused: number; failed: number }> {
    const line = await p.waitForLine((l) => l.includes('"event":"settled"'), "settled", 120_000);
    return JSON.parse(line) as { accepted: number; refused: number; failed: number };
  }

  it("refuses connections over max.connections and max.connections.per.ip, naming the flag", async () => {
    const b = await broker(["--max-connections", "6", "--max-connections-per-ip", "3"]);
    const conns: RawConn[] = [];
    cleanups.push(() => {
      for (const c of conns) c.socket.destroy();
    });
    for (let i = 0; i < 3; i++) conns.push(await raw(b.address, "127.0.0.2", true));
    expect(conns.map(refusalOf)).toEqual([undefined, undefined, undefined]);
    const fourth = await raw(b.address, "127.0.0.2", true);
    expect(refusalOf(fourth)).toMatch(/max\.connections\.per\.ip \(--max-connections-per-ip 3\)/);
    await eventually(() => (fourth.closed ? true : undefined), "the refused socket closed");
    // Another address is still welcome, until the broker-wide limit.
    for (let i = 0; i < 3; i++) conns.push(await raw(b.address, "127.0.0.3", i < 2));
    const client = await connectBroker(b.address, { reconnectBackoffMaxMs: 100 }).catch(
      (e: unknown) => e as Error,
    );
    expect((client as Error).message).toMatch(/max\.connections \(--max-connections 6\)/);
    // A slot that frees is usable again, without a restart.
    conns.pop()!.socket.destroy();
    const again = await eventually(
      async () => connectBroker(b.address).catch(() => undefined),
      "a connection once a slot freed",
    );
    expect(await again.admin.listTopics()).toEqual([]);
    await again.close();
  });

  it("closes never-handshaking and idle connections, but not a client waiting on a long poll", async () => {
    const b = await broker(["--handshake-timeout-ms", "1000", "--connections-max-idle-ms", "1500"]);
    const silent = await raw(b.address, "127.0.0.1", false);
    const idle = await raw(b.address, "127.0.0.1", true);
    cleanups.push(() => {
      silent.socket.destroy();
      idle.socket.destroy();
    });
    const client: LogClient = await connectBroker(b.address);
    cleanups.push(() => client.close());
    await client.admin.createTopic("t", { partitions: 1 });
    const consumer = client.consumer();
    consumer.assign([{ topic: "t", partition: 0 }]);
    consumer.seek({ topic: "t", partition: 0 }, 0);
    // Longer than the idle timeout, with the connection silent while the broker waits.
    const polled = await consumer.poll({ maxWaitMs: 4000 });
    expect(polled.flatMap((p) => p.records)).toEqual([]);
    await eventually(() => (silent.closed && idle.closed ? true : undefined), "both closed");
    expect(refusalOf(silent)).toMatch(/no handshake within 1000 ms/);
    expect(idle.frames.map((f) => f.apiKey)).toEqual([ApiKey.Handshake]);
    await b.proc.waitForErrLine((l) => l.includes('"event":"idle-close"'), "idle-close log");
    expect(await client.admin.listTopics()).toEqual(["t"]);
  }, 300_000); // a hang guard (loaded machines)

  it("keeps descriptors for segment files: under ulimit -n 256 a flood is refused and segments still roll", async () => {
    const b = await broker([], 256);
    const client = await connectBroker(b.address);
    cleanups.push(() => client.close());
    await client.admin.createTopic("rolls", { partitions: 1, config: { segmentBytes: 1024 } });
    const flood = await settled(hostile(b.address, "idle", 400, "127.0.0.2"));
    // Each send fills a 1 KiB segment: 40 rolls, each opening new files.
    const producer = client.producer();
    for (let i = 0; i < 40; i++) {
      await producer.send("rolls", [{ value: Buffer.alloc(900, i) }]);
    }
    const [d] = (await client.admin.describeTopic("rolls")).partitions;
    expect(d!.logEndOffset).toBe(40);
    expect(d!.segments).toBeGreaterThan(20);
    const limits = await b.proc.waitForErrLine(
      (l) => l.includes('"event":"connection-limits"'),
      "the limits line",
    );
    const maxConnections = (JSON.parse(limits) as { maxConnections: number }).maxConnections;
    expect(maxConnections).toBeGreaterThanOrEqual(16);
    expect(maxConnections).toBeLessThanOrEqual(128);
    // The test's client holds one slot; the rest were refused (with the error frame, or cut
    // while many refusals were pending).
    expect(flood.accepted).toBe(maxConnections - 1);
    expect(flood.refused).toBeGreaterThan(0);
    await b.proc.waitForErrLine((l) => l.includes('"event":"connection-refused"'), "refusal log");
  }, 180_000);

  it("names ulimit -n and --max-connections when descriptors run out", async () => {
    // Misconfigured on purpose: more connections allowed than descriptors exist.
    const b = await broker(["--max-connections", "5000"], 256);
    const warning = await b.proc.waitForErrLine(
      (l) => l.includes('"event":"connection-limits"'),
      "the limits line",
    );
    expect(warning).toMatch(/leaves no descriptors for segment files.*ulimit -n/);
    const client = await connectBroker(b.address);
    cleanups.push(() => client.close());
    await client.admin.createTopic("rolls", { partitions: 1, config: { segmentBytes: 1024 } });
    const flood = await settled(hostile(b.address, "idle", 400, "127.0.0.2"));
    expect(flood.failed).toBeGreaterThan(0); // dropped by the accept loop: EMFILE
    const line = await b.proc.waitForErrLine(
      (l) => l.includes('"event":"descriptors-low"'),
      "the descriptors-low log",
    );
    expect(line).toMatch(/ulimit -n/);
    expect(line).toMatch(/--max-connections/);
    // A segment roll now needs a descriptor there is none of: the error says which limit.
    const errors: string[] = [];
    // The failure is retriable (descriptors may come back): give up after a few seconds
    // rather than the producer's default 30 s per send.
    const producer = client.producer({ deliveryTimeoutMs: 3000 });
    for (let i = 0; i < 5; i++) {
      await producer
        .send("rolls", [{ value: Buffer.alloc(900, i) }])
        .catch((e: Error) => errors.push(e.message));
    }
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e).toMatch(/ulimit -n/);
    expect(b.proc.child.exitCode).toBeNull();
  }, 180_000);
});
