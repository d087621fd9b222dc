import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { KafkaLog } from "../src/kafka-log.js";
import { dropNamespace, kafkaBrokers, uniqueNamespace } from "./kafka-helpers.js";

kafkaBrokers();

/**
 * A TCP forwarder to the test broker on a port of its own, which hangs up on the next
 * `refuse(n)` connections: a bootstrap address through which the cluster is unreachable
 * for a while. (Only bootstrap requests go through it: the broker's metadata names its own
 * address for everything else.)
 */
function flakyForwarder(): { server: Server; refuse: (n: number) => void; refused: () => number } {
  const [host, port] = kafkaBrokers().split(",")[0]!.split(":");
  let toRefuse = 0;
  let refused = 0;
  const server = createServer((client: Socket) => {
    if (toRefuse > 0) {
      toRefuse--;
      refused++;
      client.destroy();
      return;
    }
    const upstream = tcpConnect(Number(port), host!);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  return {
    server,
    refuse: (n) => {
      toRefuse = n;
    },
    refused: () => refused,
  };
}

describe("initTransactions while the cluster cannot be reached", () => {
  const namespace = uniqueNamespace("txninit");
  const servers: Server[] = [];
  afterAll(async () => {
    for (const s of servers) s.close();
    await dropNamespace(namespace);
  });

  it("retries past attempts that failed, instead of failing for good on the client's leftover transaction", async () => {
    // The Kafka client retries a call itself (5 times, each trying its connections again):
    // one of its beginTransaction calls fails after 36 refusals here (client 1.x), so 100
    // fail the first two or three and initTransactions has to retry past them.
    const attempts = 100;
    const { server, refuse, refused } = flakyForwarder();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no forwarder port");
    const log = await KafkaLog.open({
      brokers: `127.0.0.1:${address.port}`,
      namespace,
      clientId: "tributary-test",
    });
    try {
      await log.admin.createTopic("out", { partitions: 1 });
      const p = log.transactionalProducer({ transactionalId: "init-retry" });
      refuse(attempts);
      await p.initTransactions();
      expect(refused()).toBe(attempts);
      await p.beginTransaction();
      await p.send("out", [{ key: Buffer.from("k"), value: Buffer.from("v"), partition: 0 }]);
      await p.commitTransaction();
      await p.close();
    } finally {
      await log.close();
    }
  });
});
