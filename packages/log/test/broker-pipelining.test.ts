import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatBrokerAddress } from "../src/broker/broker-address.js";
import { BrokerServer } from "../src/broker/broker-server.js";
import { RemoteLogService } from "../src/broker/remote-log-service.js";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import { GroupError, ProtocolError, UnknownTopicError } from "../src/errors.js";
import { encodeBatch } from "../src/record-batch.js";
import { tempDir } from "./broker-helpers.js";

// One connection, many requests in flight: answers come back as they complete, matched by
// correlation id, and errors arrive as the classes the embedded log throws.
describe("broker request pipelining", () => {
  let service: EmbeddedLogService;
  let server: BrokerServer;
  let remote: RemoteLogService;

  beforeEach(async () => {
    service = await EmbeddedLogService.open(tempDir("broker-pipelining"), {
      groupInitialRebalanceDelayMs: 50,
    });
    server = await BrokerServer.listen(service, {
      address: "127.0.0.1:0",
      maxFrameBytes: 256 * 1024,
    });
    remote = await RemoteLogService.connect(formatBrokerAddress(server.address), {
      maxFrameBytes: 256 * 1024,
    });
    await remote.createTopic("t", { partitions: 2 });
  });

  afterEach(async () => {
    await remote.close();
    await server.close();
    await service.close();
  });

  const batch = (n: number) =>
    encodeBatch(Array.from({ length: n }, (_, i) => ({ value: Buffer.from(`v${i}`) })));

  it("answers a produce while a long-poll fetch waits on the same connection", async () => {
    const order: string[] = [];
    const fetched = remote
      .fetch([{ topic: "t", partition: 0, offset: 0, maxBytes: 1 << 16 }], {
        maxWaitMs: 20_000,
        minBytes: 1,
        maxBytes: 1 << 16,
      })
      .then((r) => {
        order.push("fetch");
        return r;
      });
    const ack = await remote.produce("t", 0, batch(3));
    order.push("produce");
    const [response] = await fetched;
    // The produce was answered first; its batch is what woke the fetch.
    expect(order).toEqual(["produce", "fetch"]);
    expect(ack).toEqual({ baseOffset: 0, lastOffset: 2 });
    expect(response!.records.length).toBeGreaterThan(0);
    expect(response!.highWatermark).toBe(3);
  });

  it("keeps hundreds of produces in flight and acknowledges each once, in offset order", async () => {
    const acks = await Promise.all(
      Array.from({ length: 300 }, () => remote.produce("t", 1, batch(2))),
    );
    const bases = acks.map((a) => a.baseOffset).sort((a, b) => a - b);
    expect(bases).toEqual(Array.from({ length: 300 }, (_, i) => i * 2));
    expect(server.connectionCount).toBe(1);
  });

  it("rebuilds the embedded log's errors on the client, with their fields", async () => {
    const unknown = await remote.produce("nope", 0, batch(1)).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(UnknownTopicError);
    expect(unknown).toMatchObject({ code: "UNKNOWN_TOPIC", topic: "nope", retriable: false });
    const fenced = await remote
      .commitOffsets({ groupId: "g", memberId: "ghost", generation: 7, offsets: [] })
      .catch((e: unknown) => e);
    expect(fenced).toBeInstanceOf(GroupError);
    await remote.produce("t", 0, batch(1));
    const [r] = await remote.fetch([{ topic: "t", partition: 0, offset: 99, maxBytes: 1024 }], {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1024,
    });
    // Per-partition fetch errors travel inside the response, as from the embedded log.
    expect(r!.error?.code).toBe("OFFSET_OUT_OF_RANGE");
  });

  it("refuses to send a frame over the limit, and the connection carries on", async () => {
    const big = encodeBatch([{ value: Buffer.alloc(300 * 1024) }]);
    const err = await remote.produce("t", 0, big).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe("FRAME_TOO_LARGE");
    expect(await remote.produce("t", 0, batch(1))).toEqual({ baseOffset: 0, lastOffset: 0 });
  });
});
