import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectBroker } from "../src/broker/connect-broker.js";
import { formatBrokerAddress } from "../src/broker/broker-address.js";
import { type RunningBroker, startBroker } from "../src/broker/run-broker.js";
import { openSecurityAdmin } from "../src/broker/security-admin.js";
import type { LogClient } from "../src/client/log-client.js";
import { SecurityStore } from "../src/security/security-store.js";
import { selfSignedCertificate } from "../src/testing/self-signed-certificate.js";
import { tempDir } from "./broker-helpers.js";

/**
 * A broker started with --acls, as an operator runs it: users and ACLs bootstrapped in the
 * data dir before it starts, clients logging in with SCRAM-SHA-256 over real sockets.
 */
const PASSWORDS = { admin: "admin-secret-1", alice: "alice-secret-1", bob: "bob-secret-12" };

let dir: string;
let broker: RunningBroker;
let address: string;
const clients: LogClient[] = [];

async function as(user: keyof typeof PASSWORDS, password = PASSWORDS[user]): Promise<LogClient> {
  const c = await connectBroker(address, {
    sasl: { username: user, password },
    reconnectBackoffMaxMs: 200,
  });
  clients.push(c);
  return c;
}

async function endOffset(client: LogClient, topic: string): Promise<number> {
  const ends = await client.admin.listOffsets(topic, "latest");
  return ends.reduce((n, o) => n + o.offset, 0);
}

beforeAll(async () => {
  dir = tempDir("tributary-acl-broker-");
  const store = SecurityStore.open(dir);
  for (const [user, password] of Object.entries(PASSWORDS)) store.upsertUser(user, password);
  store.addAcls([
    {
      principal: "User:alice",
      resourceType: "topic",
      name: "orders",
      patternType: "literal",
      operation: "write",
      permission: "allow",
    },
    {
      principal: "User:alice",
      resourceType: "topic",
      name: "payments.",
      patternType: "prefixed",
      operation: "all",
      permission: "allow",
    },
    {
      principal: "User:bob",
      resourceType: "topic",
      name: "orders",
      patternType: "literal",
      operation: "read",
      permission: "allow",
    },
    {
      principal: "User:alice",
      resourceType: "transactional-id",
      name: "alice-",
      patternType: "prefixed",
      operation: "write",
      permission: "allow",
    },
    {
      principal: "User:bob",
      resourceType: "group",
      name: "billing-",
      patternType: "prefixed",
      operation: "read",
      permission: "allow",
    },
  ]);
  broker = await startBroker({
    dataDir: dir,
    address: "127.0.0.1:0",
    acls: { superUsers: ["User:admin"] },
    logOptions: { groupInitialRebalanceDelayMs: 0 },
  });
  address = formatBrokerAddress(broker.address);
  const admin = await as("admin");
  await admin.admin.createTopic("orders", { partitions: 1 });
  await admin.admin.createTopic("payments.eu", { partitions: 1 });
});

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await broker?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("a broker with ACLs", () => {
  it("refuses a produce without WRITE, naming principal, operation and topic, and stores nothing", async () => {
    const bob = await as("bob");
    await expect(bob.producer().send("orders", [{ value: Buffer.from("x") }])).rejects.toThrow(
      /principal 'User:bob' may not WRITE topic 'orders'/,
    );
    expect(await endOffset(bob, "orders")).toBe(0);
    const alice = await as("alice");
    await alice.producer().send("orders", [{ value: Buffer.from("o1") }]);
    expect(await endOffset(bob, "orders")).toBe(1);
  });

  it("a prefixed ACL covers every topic with the prefix and nothing else", async () => {
    const alice = await as("alice");
    await alice.producer().send("payments.eu", [{ value: Buffer.from("p1") }]);
    await alice.admin.createTopic("payments.us", { partitions: 1 });
    await expect(alice.admin.createTopic("paymentsX", { partitions: 1 })).rejects.toThrow(
      /may not CREATE topic 'paymentsX'/,
    );
    // ListTopics shows only what the principal may describe.
    expect((await alice.admin.listTopics()).sort()).toEqual([
      "orders",
      "payments.eu",
      "payments.us",
    ]);
    const bob = await as("bob");
    expect(await bob.admin.listTopics()).toEqual(["orders"]);
  });

  it("a transactional id needs WRITE on it (resource type transactional-id), and its topics WRITE", async () => {
    const alice = await as("alice");
    const mine = alice.transactionalProducer({ transactionalId: "alice-app" });
    await mine.initTransactions();
    await mine.beginTransaction();
    await mine.send("orders", [{ value: Buffer.from("t1") }]);
    await mine.commitTransaction();
    await mine.close();
    const other = alice.transactionalProducer({ transactionalId: "bob-app" });
    await expect(other.initTransactions()).rejects.toThrow(
      /principal 'User:alice' may not WRITE transactional-id 'bob-app'/,
    );
    const bob = await as("bob");
    const bobs = bob.transactionalProducer({ transactionalId: "alice-app" });
    // Bob may not use (and so fence) alice's id.
    await expect(bobs.initTransactions()).rejects.toMatchObject({ code: "AUTHORIZATION_FAILED" });
  });

  it("a group needs READ on the group and on the topics it commits", async () => {
    const bob = await as("bob");
    await bob.admin.resetOffsets("billing-eu", { to: "earliest" }, { topics: ["orders"] });
    await expect(
      bob.admin.resetOffsets("shipping", { to: "earliest" }, { topics: ["orders"] }),
    ).rejects.toThrow(/may not READ group 'shipping'/);
  });

  it("a wrong password or an unknown user is refused at connect, naming the user", async () => {
    await expect(as("alice", "not-her-password")).rejects.toThrow(
      /authentication failed for user 'alice': unknown user or wrong password/,
    );
    await expect(
      connectBroker(address, { sasl: { username: "mallory", password: "whatever-1" } }),
    ).rejects.toThrow(/user 'mallory'/);
  });

  it("a client that does not log in acts as User:ANONYMOUS, which has no rights", async () => {
    const anon = await connectBroker(address);
    clients.push(anon);
    await expect(anon.admin.describeTopic("orders")).rejects.toThrow(
      /principal 'User:ANONYMOUS' may not DESCRIBE topic 'orders'/,
    );
  });

  it("users and ACLs are managed over the wire by a principal with ALTER on the cluster only", async () => {
    process.env.TRIBUTARY_USER = "admin";
    process.env.TRIBUTARY_PASSWORD = PASSWORDS.admin;
    try {
      const admin = await openSecurityAdmin({ dataDir: dir, broker: address });
      await admin.upsertUser("carol", "carol-secret-1");
      expect(
        await admin.addAcls([
          {
            principal: "User:carol",
            resourceType: "topic",
            name: "orders",
            patternType: "literal",
            operation: "read",
            permission: "allow",
          },
        ]),
      ).toBe(1);
      expect((await admin.listAcls("User:carol")).length).toBe(1);
      await admin.close();
      const carol = await connectBroker(address, {
        sasl: { username: "carol", password: "carol-secret-1" },
      });
      clients.push(carol);
      expect((await carol.admin.describeTopic("orders")).name).toBe("orders");

      process.env.TRIBUTARY_USER = "bob";
      process.env.TRIBUTARY_PASSWORD = PASSWORDS.bob;
      const notAdmin = await openSecurityAdmin({ dataDir: dir, broker: address });
      await expect(notAdmin.upsertUser("eve", "eve-secret-12")).rejects.toThrow(
        /principal 'User:bob' may not ALTER cluster 'cluster'/,
      );
      await notAdmin.close();
    } finally {
      delete process.env.TRIBUTARY_USER;
      delete process.env.TRIBUTARY_PASSWORD;
    }
  });
});

describe("a broker with TLS", () => {
  let tlsDir: string;
  let tlsBroker: RunningBroker;

  beforeAll(async () => {
    tlsDir = tempDir("tributary-tls-");
    const certs = selfSignedCertificate(tlsDir);
    tlsBroker = await startBroker({
      dataDir: path.join(tlsDir, "data"),
      address: "tls://127.0.0.1:0",
      tls: { cert: fs.readFileSync(certs.certFile), key: fs.readFileSync(certs.keyFile) },
    });
  });

  afterAll(async () => {
    await tlsBroker?.stop();
    fs.rmSync(tlsDir, { recursive: true, force: true });
  });

  it("serves a client that trusts its CA, and refuses one that does not", async () => {
    const addr = formatBrokerAddress(tlsBroker.address);
    expect(addr).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
    const client = await connectBroker(addr, {
      tlsCa: fs.readFileSync(path.join(tlsDir, "ca.pem")),
    });
    await client.admin.createTopic("secure", { partitions: 1 });
    await client.producer().send("secure", [{ value: Buffer.from("over TLS") }]);
    expect(await endOffset(client, "secure")).toBe(1);
    await client.close();
    await expect(
      connectBroker(addr, { connectTimeoutMs: 5000, reconnectBackoffMaxMs: 100 }).then((c) =>
        c.admin.listTopics().finally(() => c.close()),
      ),
    ).rejects.toThrow(/self-signed|unable to verify|certificate/i);
  });
});
