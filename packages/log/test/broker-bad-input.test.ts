import fs from "node:fs";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBrokerAddress } from "../src/broker/broker-address.js";
import { connectBroker } from "../src/broker/connect-broker.js";
import { FrameDecoder, encodeFrameHeader } from "../src/broker/frame-codec.js";
import { ApiKey, PROTOCOL_VERSION, packBody, unpackBody } from "../src/broker/protocol.js";
import { RemoteLogService } from "../src/broker/remote-log-service.js";
import { InvalidNameError, TributaryError } from "../src/errors.js";
import { type BrokerProc, startBrokerProcess, tempDir } from "./broker-helpers.js";

const TOKEN = "s3cret-token";

function frame(correlationId: number, apiKey: number, body: unknown): Buffer {
  const bytes = Buffer.isBuffer(body) ? body : packBody(body);
  return Buffer.concat([encodeFrameHeader(correlationId, apiKey, bytes.length), bytes]);
}

const handshake = (token = TOKEN) =>
  frame(1, ApiKey.Handshake, { version: PROTOCOL_VERSION, token });

interface Exchange {
  frames: { correlationId: number; apiKey: number; body: Record<string, unknown> }[];
  /** The broker closed the connection (rather than our timeout ending it). */
  closedByBroker: boolean;
}

/**
 * Sends raw bytes on a fresh socket; collects every frame until the broker closes it (or,
 * with `untilFrames`, until that many frames came back and the socket is still open).
 */
function rawExchange(
  address: string,
  chunks: Buffer[],
  endAfter = false,
  untilFrames = Number.POSITIVE_INFINITY,
): Promise<Exchange> {
  const a = parseBrokerAddress(address);
  if (a.transport !== "tcp") throw new Error("tcp expected");
  return new Promise((resolve) => {
    const socket = net.connect(a.port, a.host);
    const decoder = new FrameDecoder();
    const out: Exchange = { frames: [], closedByBroker: false };
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(out);
    }, 30_000); // a hang guard: the broker answers or closes long before on any machine
    socket.on("data", (d) => {
      decoder.push(d, (f) =>
        out.frames.push({
          correlationId: f.correlationId,
          apiKey: f.apiKey,
          body: unpackBody(f.body) as Record<string, unknown>,
        }),
      );
      if (out.frames.length >= untilFrames) {
        clearTimeout(timer);
        socket.removeAllListeners("close");
        socket.destroy();
        resolve(out);
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      out.closedByBroker = true;
      resolve(out);
    });
    socket.on("connect", () => {
      for (const c of chunks) socket.write(c);
      if (endAfter) socket.end();
    });
  });
}

function errorCode(x: Exchange): unknown {
  const last = x.frames.at(-1);
  expect(last?.apiKey).toBe(ApiKey.Error);
  return (last?.body.error as { code: string } | undefined)?.code;
}

describe("broker under bad input", () => {
  let dir: string;
  let broker: BrokerProc;

  beforeAll(async () => {
    dir = tempDir("broker-bad-input");
    broker = await startBrokerProcess(dir, [
      "--token",
      TOKEN,
      "--max-frame-bytes",
      String(1 << 20),
    ]);
    const client = await connectBroker(broker.address, { token: TOKEN });
    await client.admin.createTopic("good", { partitions: 2 });
    await client.close();
  });

  afterAll(async () => {
    broker.proc.kill("SIGTERM");
    await broker.proc.exited;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("answers garbage bytes with an error frame and closes", async () => {
    // "GET / HTTP/1.1" reads as a length prefix of ~1.2 GB: refused from its first 4 bytes.
    const x = await rawExchange(broker.address, [Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")]);
    expect(errorCode(x)).toBe("FRAME_TOO_LARGE");
    expect(x.closedByBroker).toBe(true);
    // Small garbage frames that are not a handshake are refused too.
    const y = await rawExchange(broker.address, [Buffer.from([0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7])]);
    expect(errorCode(y)).toBe("AUTHENTICATION_FAILED");
    expect(y.closedByBroker).toBe(true);
  });

  it("refuses a 4 GiB length prefix without allocating it", async () => {
    const x = await rawExchange(broker.address, [
      handshake(),
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
    ]);
    expect(x.frames[0]!.body.ok).toMatchObject({ version: PROTOCOL_VERSION });
    expect(errorCode(x)).toBe("FRAME_TOO_LARGE");
    expect(x.closedByBroker).toBe(true);
    // Over the configured 1 MiB limit, even if far from 4 GiB.
    const y = await rawExchange(broker.address, [
      handshake(),
      encodeFrameHeader(5, ApiKey.Produce, 2 << 20),
    ]);
    expect(errorCode(y)).toBe("FRAME_TOO_LARGE");
  });

  it("allows no frame larger than a handshake before the handshake", async () => {
    // Within the broker's 1 MiB limit, but from a client that has not shown its token.
    const x = await rawExchange(broker.address, [
      encodeFrameHeader(1, ApiKey.Handshake, 512 << 10),
    ]);
    expect(errorCode(x)).toBe("FRAME_TOO_LARGE");
    expect(x.closedByBroker).toBe(true);
    // After the handshake the same size is a normal request size.
    const y = await rawExchange(
      broker.address,
      [handshake(), frame(2, ApiKey.ListTopics, { includeInternal: false })],
      false,
      2,
    );
    expect(y.frames[1]!.body.ok).toEqual(["good"]);
  });

  it("drops a frame cut mid-way when the client closes", async () => {
    const whole = frame(2, ApiKey.Produce, {
      topic: "good",
      partition: 0,
      batch: Buffer.alloc(500),
    });
    const x = await rawExchange(broker.address, [handshake(), whole.subarray(0, 100)], true);
    // Only the handshake was answered; the half frame was never served.
    expect(x.frames.map((f) => f.apiKey)).toEqual([ApiKey.Handshake]);
    expect(x.closedByBroker).toBe(true);
  });

  it("refuses an unknown request type and a body that is not msgpack", async () => {
    const x = await rawExchange(broker.address, [handshake(), frame(2, 99, {})]);
    expect(errorCode(x)).toBe("UNKNOWN_REQUEST");
    expect(x.frames.at(-1)!.correlationId).toBe(2);
    expect(x.closedByBroker).toBe(true);
    const y = await rawExchange(broker.address, [
      handshake(),
      frame(3, ApiKey.ListTopics, Buffer.from([0x92, 0x01])),
    ]);
    expect(errorCode(y)).toBe("MALFORMED_FRAME");
  });

  it("refuses a wrong or missing token", async () => {
    await expect(
      RemoteLogService.connect(broker.address, { token: "wrong" }),
    ).rejects.toMatchObject({
      code: "AUTHENTICATION_FAILED",
    });
    await expect(RemoteLogService.connect(broker.address)).rejects.toMatchObject({
      code: "AUTHENTICATION_FAILED",
    });
    // A request before the handshake is refused the same way.
    const x = await rawExchange(broker.address, [
      frame(1, ApiKey.ListTopics, { includeInternal: true }),
    ]);
    expect(errorCode(x)).toBe("AUTHENTICATION_FAILED");
  });

  it("rejects a produce to topic '../x' with the embedded log's error, and keeps the connection", async () => {
    const service = await RemoteLogService.connect(broker.address, { token: TOKEN });
    // The embedded log answers a produce to a name that cannot exist as "unknown topic".
    const err = await service.produce("../x", 0, Buffer.alloc(64)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TributaryError);
    expect(["INVALID_TOPIC_NAME", "UNKNOWN_TOPIC"]).toContain((err as TributaryError).code);
    const created = await service.createTopic("../x", { partitions: 1 }).catch((e: unknown) => e);
    expect(created).toBeInstanceOf(InvalidNameError);
    expect((created as TributaryError).code).toBe("INVALID_TOPIC_NAME");
    // A field of the wrong type is refused by the broker itself, also without closing.
    const raw = await rawExchange(
      broker.address,
      [
        handshake(),
        frame(2, ApiKey.Produce, { topic: "good", partition: "zero", batch: Buffer.alloc(1) }),
      ],
      false,
      2,
    );
    expect(raw.frames[1]!.body.error).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(raw.closedByBroker).toBe(false);
    expect(fs.existsSync(`${dir}/../x-0`)).toBe(false);
    expect(await service.listTopics(false)).toEqual(["good"]);
    await service.close();
  });

  it("answers a second handshake with an error that says so, and keeps the connection", async () => {
    const x = await rawExchange(
      broker.address,
      [handshake(), handshake(), frame(3, ApiKey.ListTopics, { includeInternal: false })],
      false,
      3,
    );
    const second = x.frames.find((f) => f.correlationId === 1 && f !== x.frames[0])!;
    expect(second.apiKey).toBe(ApiKey.Handshake);
    expect(second.body.error).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect((second.body.error as { message: string }).message).toMatch(/already shaken hands/);
    expect(x.frames.find((f) => f.correlationId === 3)?.body.ok).toEqual(["good"]);
    expect(x.closedByBroker).toBe(false);
  });

  it("refuses topic configs of the wrong type over the wire, naming the field", async () => {
    const create = (name: string, config: unknown) =>
      frame(2, ApiKey.CreateTopic, { name, options: { partitions: 1, config } });
    const cases: [unknown, RegExp][] = [
      ["x", /must be a map/], // spread into the config, this stored `0: "x"`
      [{ 0: "x" }, /unknown topic config field '0'/],
      [{ retentionMs: "5" }, /retentionMs \(retention\.ms\) must be a number, got "5"/],
      [{ cleanupPolicy: 1 }, /cleanupPolicy \(cleanup\.policy\) must be a string/],
    ];
    for (const [i, [config, message]] of cases.entries()) {
      const x = await rawExchange(
        broker.address,
        [handshake(), create(`typed${i}`, config)],
        false,
        2,
      );
      expect(x.frames[1]!.body.error).toMatchObject({ code: "INVALID_CONFIG" });
      expect((x.frames[1]!.body.error as { message: string }).message).toMatch(message);
    }
    const service = await RemoteLogService.connect(broker.address, { token: TOKEN });
    expect(await service.listTopics(false)).toEqual(["good"]);
    await service.close();
  });

  it("refuses an unknown offset spec instead of answering with the latest offsets", async () => {
    for (const spec of ["newest", { timestamp: "yesterday" }, { ts: 5 }, 7]) {
      const x = await rawExchange(
        broker.address,
        [handshake(), frame(2, ApiKey.ListOffsets, { topic: "good", spec })],
        false,
        2,
      );
      expect(x.frames[1]!.body.ok).toBeUndefined();
      expect(x.frames[1]!.body.error).toMatchObject({ code: "INVALID_ARGUMENT" });
      expect((x.frames[1]!.body.error as { message: string }).message).toMatch(
        /is not one of "earliest", "latest" or \{ timestamp: <ms> \}/,
      );
    }
  });

  it("refuses malformed transaction requests, naming the field, before they reach the coordinator", async () => {
    const producer = { transactionalId: "t", producerId: 1, producerEpoch: 0 };
    const cases: [number, unknown, RegExp][] = [
      [ApiKey.InitProducerId, { transactionalId: 5 }, /'transactionalId' must be a string/],
      [
        ApiKey.InitProducerId,
        { transactionalId: "t", transactionTimeoutMs: "1s" },
        /'transactionTimeoutMs' must be an integer/,
      ],
      [
        ApiKey.AddPartitionsToTxn,
        { ...producer, partitions: "good" },
        /'partitions' must be an array/,
      ],
      [
        ApiKey.AddPartitionsToTxn,
        { ...producer, partitions: [{ topic: "good", partition: "0" }] },
        /'partition' must be an integer/,
      ],
      [ApiKey.EndTxn, { ...producer, commit: "yes" }, /'commit' must be a boolean/],
      [ApiKey.EndTxn, { ...producer, producerEpoch: null, commit: true }, /'producerEpoch'/],
      [
        ApiKey.TxnOffsetCommit,
        { ...producer, groupId: "g", memberId: "", generation: -1, offsets: [{ topic: "good" }] },
        /'partition' must be an integer/,
      ],
      [
        ApiKey.Fetch,
        {
          requests: [],
          options: { maxWaitMs: 0, minBytes: 0, maxBytes: 1, isolation: "dirty" },
        },
        /isolation 'dirty': expected read_committed or read_uncommitted/,
      ],
    ];
    for (const [apiKey, body, message] of cases) {
      const x = await rawExchange(broker.address, [handshake(), frame(2, apiKey, body)], false, 2);
      expect(x.frames[1]!.body.error).toMatchObject({ code: "INVALID_ARGUMENT" });
      expect((x.frames[1]!.body.error as { message: string }).message).toMatch(message);
    }
  });

  it("refuses to create a topic under the internal prefix '__', which nobody could produce to", async () => {
    const service = await RemoteLogService.connect(broker.address, { token: TOKEN });
    const err = await service.createTopic("__x", { partitions: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidNameError);
    expect((err as InvalidNameError).message).toMatch(/reserved for the broker's internal topics/);
    expect(await service.listTopics(true)).not.toContain("__x");
    expect(fs.existsSync(`${dir}/__x-0`)).toBe(false);
    await service.close();
  });

  it("still serves a well-behaved client after all of that", async () => {
    const client = await connectBroker(broker.address, { token: TOKEN });
    const acks = await client.producer().send(
      "good",
      Array.from({ length: 100 }, (_, i) => ({
        key: Buffer.from(`k${i}`),
        value: Buffer.from(`v${i}`),
      })),
    );
    expect(acks.reduce((n, a) => n + a.lastOffset - a.baseOffset + 1, 0)).toBe(100);
    const consumer = client.consumer();
    consumer.assign([
      { topic: "good", partition: 0 },
      { topic: "good", partition: 1 },
    ]);
    consumer.seek({ topic: "good", partition: 0 }, 0);
    consumer.seek({ topic: "good", partition: 1 }, 0);
    const values = new Set<string>();
    const deadline = Date.now() + 60_000;
    while (values.size < 100 && Date.now() < deadline) {
      for (const fp of await consumer.poll({ maxWaitMs: 200 })) {
        for (const r of fp.records) values.add(r.value!.toString());
      }
    }
    expect(values.size).toBe(100);
    expect(broker.proc.child.exitCode).toBeNull();
    await client.close();
  });
});
