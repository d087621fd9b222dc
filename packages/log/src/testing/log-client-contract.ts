import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Consumer, FetchedPartition, LogClient } from "../client/log-client.js";
import { partitionForKey } from "../client/partitioner.js";
import type { LogRecord } from "../record.js";
import { transactionContractCases } from "./transaction-contract.js";

/**
 * The behaviour every LogClient must have, whatever it runs on. Each implementation's
 * test file calls this with a factory; `reopen` (when given) closes the client and opens
 * a new one on the same log, to prove durability.
 */
export interface ContractTarget {
  client: LogClient;
  reopen?: () => Promise<LogClient>;
  cleanup: () => Promise<void>;
}

export function describeLogClientContract(name: string, open: () => Promise<ContractTarget>): void {
  describe(`LogClient contract: ${name}`, () => {
    let target: ContractTarget;
    let client: LogClient;

    beforeEach(async () => {
      target = await open();
      client = target.client;
    });
    afterEach(async () => {
      await target.cleanup();
    });

    it("creates, lists, describes and deletes topics", async () => {
      await client.admin.createTopic("orders", { partitions: 3 });
      await client.admin.createTopic("clicks", { partitions: 1, config: { retentionMs: 60_000 } });
      expect(await client.admin.listTopics()).toEqual(["clicks", "orders"]);
      const d = await client.admin.describeTopic("orders");
      expect(d.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
      expect(d.partitions.every((p) => p.logEndOffset === 0 && p.logStartOffset === 0)).toBe(true);
      expect((await client.admin.describeTopic("clicks")).config.retentionMs).toBe(60_000);
      await expect(client.admin.createTopic("orders", { partitions: 3 })).rejects.toMatchObject({
        code: "TOPIC_EXISTS",
      });
      await client.admin.createTopic("orders", { partitions: 3, ifNotExists: true });
      await client.admin.deleteTopic("clicks");
      expect(await client.admin.listTopics()).toEqual(["orders"]);
      await expect(client.admin.describeTopic("clicks")).rejects.toMatchObject({
        code: "UNKNOWN_TOPIC",
      });
    });

    it("rejects illegal topic names and configs with a clear error", async () => {
      for (const bad of ["", ".", "..", "../x", "a/b", "x".repeat(250), "sp ace"]) {
        await expect(client.admin.createTopic(bad, { partitions: 1 })).rejects.toMatchObject({
          code: "INVALID_TOPIC_NAME",
        });
      }
      await expect(
        client.admin.createTopic("ok", { partitions: 1, config: { retentionMs: -5 } }),
      ).rejects.toMatchObject({ code: "INVALID_CONFIG" });
      await expect(client.admin.createTopic("ok", { partitions: 0 })).rejects.toThrow(/partition/);
    });

    it("produces to an unknown topic with an error naming it", async () => {
      const producer = client.producer();
      await expect(producer.send("nope", [{ value: Buffer.from("x") }])).rejects.toMatchObject({
        code: "UNKNOWN_TOPIC",
      });
    });

    it("partitions keyed records with Kafka's murmur2 and keeps offsets gapless", async () => {
      await client.admin.createTopic("keyed", { partitions: 3 });
      const producer = client.producer();
      const records = Array.from({ length: 600 }, (_, i) => ({
        key: Buffer.from(`user-${i % 37}`),
        value: Buffer.from(`v${i}`),
      }));
      for (let i = 0; i < records.length; i += 100) {
        await producer.send("keyed", records.slice(i, i + 100));
      }
      const byPartition = await readAll(client, "keyed", 3);
      let total = 0;
      for (let p = 0; p < 3; p++) {
        const got = byPartition[p]!;
        total += got.length;
        expect(got.map((r) => r.offset)).toEqual(got.map((_, i) => i));
        for (const r of got) expect(partitionForKey(r.key!, 3)).toBe(p);
        // Order within a partition is the send order.
        const expected = records
          .filter((r) => partitionForKey(r.key, 3) === p)
          .map((r) => r.value.toString());
        expect(got.map((r) => r.value!.toString())).toEqual(expected);
      }
      expect(total).toBe(600);
    });

    it("keeps null keys, tombstones, timestamps and headers", async () => {
      await client.admin.createTopic("shapes", { partitions: 1 });
      await client.producer().send("shapes", [
        { key: null, value: Buffer.from("no key"), timestamp: 1_000 },
        { key: Buffer.from("k"), value: null, timestamp: 2_000 },
        {
          key: Buffer.from("h"),
          value: Buffer.alloc(0),
          timestamp: 1_700_000_000_123,
          headers: { trace: "abc", bin: Buffer.from([0, 255]) },
        },
      ]);
      const [records] = await readAll(client, "shapes", 1);
      expect(records!.map((r) => [r.key?.toString() ?? null, r.value?.toString() ?? null])).toEqual(
        [
          [null, "no key"],
          ["k", null],
          ["h", ""],
        ],
      );
      expect(records!.map((r) => r.timestamp)).toEqual([1_000, 2_000, 1_700_000_000_123]);
      expect(records![2]!.headers.trace!.toString()).toBe("abc");
      expect([...records![2]!.headers.bin!]).toEqual([0, 255]);
    });

    it("lists offsets by earliest, latest and timestamp", async () => {
      await client.admin.createTopic("times", { partitions: 1 });
      await client.producer().send(
        "times",
        [10, 20, 30, 40].map((t) => ({
          value: Buffer.from(String(t)),
          timestamp: t * 1000,
          partition: 0,
        })),
      );
      expect((await client.admin.listOffsets("times", "earliest"))[0]!.offset).toBe(0);
      expect((await client.admin.listOffsets("times", "latest"))[0]!.offset).toBe(4);
      expect((await client.admin.listOffsets("times", { timestamp: 25_000 }))[0]!.offset).toBe(2);
      expect((await client.admin.listOffsets("times", { timestamp: 99_000 }))[0]!.offset).toBe(4);
    });

    it("a group consumes everything once, commits, and a new member resumes from the commit", async () => {
      await client.admin.createTopic("events", { partitions: 3 });
      const producer = client.producer();
      await producer.send("events", ids(0, 300));
      const first = client.consumer({ groupId: "g1", autoOffsetReset: "earliest" });
      await first.subscribe(["events"]);
      const seen = await consumeUntil(first, 300);
      expect(new Set(seen).size).toBe(300);
      await first.commit();
      await first.close();

      await producer.send("events", ids(300, 400));
      const second = client.consumer({ groupId: "g1", autoOffsetReset: "earliest" });
      await second.subscribe(["events"]);
      const rest = await consumeUntil(second, 100);
      expect(rest.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => 300 + i));
      await second.commit();
      const d = await client.admin.describeGroup("g1");
      expect(d.members).toHaveLength(1);
      expect(d.offsets.reduce((n, o) => n + o.lag, 0)).toBe(0);
      expect(d.offsets.reduce((n, o) => n + o.offset, 0)).toBe(400);
      await second.close();
    });

    it("two members split the partitions and together read every record", async () => {
      await client.admin.createTopic("shared", { partitions: 4 });
      await client.producer().send(
        "shared",
        Array.from({ length: 400 }, (_, i) => ({
          key: Buffer.from(`k${i}`),
          value: Buffer.from(String(i)),
        })),
      );
      const a = client.consumer({
        groupId: "g2",
        autoOffsetReset: "earliest",
        sessionTimeoutMs: 3000,
      });
      const b = client.consumer({
        groupId: "g2",
        autoOffsetReset: "earliest",
        sessionTimeoutMs: 3000,
      });
      await a.subscribe(["shared"]);
      await b.subscribe(["shared"]);
      const seen = new Map<number, string>();
      const split = () =>
        a.assignment().length === 2 &&
        b.assignment().length === 2 &&
        new Set([...a.assignment(), ...b.assignment()].map((tp) => tp.partition)).size === 4;
      const deadline = Date.now() + 120_000;
      // Each member polls in its own loop, as separate processes would, until every record
      // was read and the group settled into the 2 + 2 split. The loops must not wait on
      // each other: a member's join waits for the other member's next poll, so polling both
      // in lockstep (await both polls, then poll again) can keep one member out of every
      // rebalance the other one starts.
      const loop = async (c: Consumer, who: string) => {
        while ((seen.size < 400 || !split()) && Date.now() < deadline) {
          for (const fp of await c.poll({ maxWaitMs: 50 })) {
            for (const r of fp.records) seen.set(Number(r.value!.toString()), who);
          }
        }
      };
      await Promise.all([loop(a, "a"), loop(b, "b")]);
      expect(seen.size).toBe(400);
      const aParts = a.assignment().map((tp) => tp.partition);
      const bParts = b.assignment().map((tp) => tp.partition);
      expect([...aParts, ...bParts].sort()).toEqual([0, 1, 2, 3]);
      expect(aParts.length).toBe(2);
      await a.close();
      await b.close();
    });

    it("a member busy between polls during a rebalance keeps its place: the group waits for it", async () => {
      await client.admin.createTopic("busy", { partitions: 4 });
      const aEvents: string[] = [];
      const a = client.consumer({
        groupId: "g-busy",
        sessionTimeoutMs: 3000,
        rebalanceTimeoutMs: 60_000,
        listener: {
          onPartitionsRevoked: async (tps) => void aEvents.push(`revoked ${tps.length}`),
          onPartitionsLost: async (tps) => void aEvents.push(`lost ${tps.length}`),
        },
      });
      await a.subscribe(["busy"]);
      const until = async (
        done: () => boolean | Promise<boolean>,
        poll: () => Promise<unknown>,
      ) => {
        const deadline = Date.now() + 60_000;
        while (!(await done()) && Date.now() < deadline) await poll();
      };
      await until(
        () => a.assignment().length === 4,
        () => a.poll({ maxWaitMs: 50 }),
      );
      expect(a.assignment().length).toBe(4);
      const bShares: number[] = [];
      const b = client.consumer({
        groupId: "g-busy",
        sessionTimeoutMs: 3000,
        rebalanceTimeoutMs: 60_000,
        listener: { onPartitionsAssigned: async (tps) => void bShares.push(tps.length) },
      });
      await b.subscribe(["busy"]);
      let stopB = false;
      const bLoop = (async () => {
        while (!stopB) await b.poll({ maxWaitMs: 50 });
      })();
      try {
        // b's join starts a rebalance that waits for a's next poll. a is busy (does not poll)
        // for three of its session timeouts: its heartbeats must keep it in the group, so the
        // rebalance waits instead of dropping a and handing all four partitions to b.
        await until(
          async () => (await client.admin.describeGroup("g-busy")).state === "PreparingRebalance",
          () => new Promise((r) => setTimeout(r, 20)),
        );
        await new Promise((r) => setTimeout(r, 9000));
        expect(bShares).toEqual([]);
        await until(
          () => a.assignment().length === 2 && b.assignment().length === 2,
          () => a.poll({ maxWaitMs: 50 }),
        );
        expect(a.assignment().length).toBe(2);
        // The first generation b joined already gave it half: a was never dropped.
        expect(bShares[0]).toBe(2);
        expect(aEvents).toEqual(["revoked 4"]);
      } finally {
        stopB = true;
        await bLoop;
        await a.close();
        await b.close();
      }
    });

    it("a member that heartbeats but never polls again holds a rebalance only for its rebalance timeout", async () => {
      // The other side of heartbeating while a rejoin is pending: a process stuck for good
      // (heartbeat timer alive, no poll) must not hold the group: after the rebalance
      // timeout the coordinator drops it and the live member takes every partition.
      await client.admin.createTopic("stuck", { partitions: 4 });
      const opts = { groupId: "g-stuck", sessionTimeoutMs: 3000, rebalanceTimeoutMs: 5000 };
      const stuck = client.consumer(opts);
      await stuck.subscribe(["stuck"]);
      await pollEachUntil([stuck], () => stuck.assignment().length === 4);
      expect(stuck.assignment().length).toBe(4);
      const live = client.consumer(opts);
      await live.subscribe(["stuck"]);
      await pollEachUntil([live], () => live.assignment().length === 4);
      expect(live.assignment().map((tp) => tp.partition)).toEqual([0, 1, 2, 3]);
      await live.close();
      await stuck.close().catch(() => {});
    });

    it("close() lets the revoke listener commit the partitions' last positions", async () => {
      await client.admin.createTopic("closing", { partitions: 2 });
      await client.producer().send("closing", ids(0, 40));
      let consumer: Consumer | undefined;
      const c = client.consumer({
        groupId: "g-close",
        autoOffsetReset: "earliest",
        listener: { onPartitionsRevoked: async () => consumer!.commit() },
      });
      consumer = c;
      await c.subscribe(["closing"]);
      expect((await consumeUntil(c, 40)).length).toBe(40);
      await c.close();
      const committed = await client.admin.fetchCommittedOffsets("g-close");
      expect(committed.reduce((n, o) => n + o.offset, 0)).toBe(40);
    });

    it("a restarted static member takes its place at once and fences the old process", async () => {
      await client.admin.createTopic("static", { partitions: 4 });
      // Session and rebalance timeouts far beyond the wait below: without static
      // membership the new process would wait for the old one (which still heartbeats
      // but never polls again) to rejoin or time out, and the test would fail.
      const opts = (instance: string) => ({
        groupId: "g-static",
        autoOffsetReset: "earliest" as const,
        groupInstanceId: instance,
        sessionTimeoutMs: 120_000,
        rebalanceTimeoutMs: 120_000,
      });
      const a1 = client.consumer(opts("worker-a"));
      const b = client.consumer(opts("worker-b"));
      await a1.subscribe(["static"]);
      await b.subscribe(["static"]);
      await pollEachUntil(
        [a1, b],
        () => a1.assignment().length > 0 && a1.assignment().length + b.assignment().length === 4,
      );
      const aHad = a1.assignment().map((tp) => tp.partition);
      expect(aHad.length + b.assignment().length).toBe(4);

      // a1's process "dies" (stops polling, as after a SIGKILL its heartbeats would stop
      // too); a new process with the same instance id starts.
      const a2 = client.consumer(opts("worker-a"));
      await a2.subscribe(["static"]);
      await pollEachUntil([a2, b], () => a2.assignment().length + b.assignment().length === 4);
      const parts = [...a2.assignment(), ...b.assignment()].map((tp) => tp.partition);
      expect(parts.sort()).toEqual([0, 1, 2, 3]);
      expect(a2.assignment().length).toBeGreaterThan(0);

      // The old process, if it wakes up, is told it was replaced and cannot commit.
      let fenced: unknown;
      const fencedBy = Date.now() + 30_000;
      while (fenced === undefined && Date.now() < fencedBy) {
        try {
          await a1.poll({ maxWaitMs: 20 });
        } catch (err) {
          fenced = err;
        }
      }
      expect(fenced).toMatchObject({ code: "FENCED_INSTANCE_ID" });
      await a2.close();
      await b.close();
      await a1.close().catch(() => {});
    });

    it("read_committed reads records written outside transactions; an unknown isolation is refused", async () => {
      await client.admin.createTopic("isolated", { partitions: 1 });
      await client.producer().send("isolated", ids(0, 10));
      const c = client.consumer({ isolation: "read_committed" });
      c.assign([{ topic: "isolated", partition: 0 }]);
      c.seek({ topic: "isolated", partition: 0 }, 0);
      expect(await consumeUntil(c, 10)).toEqual(Array.from({ length: 10 }, (_, i) => i));
      await c.close();
      expect(() => client.consumer({ isolation: "snapshot" as never })).toThrow(
        /isolation 'snapshot': expected read_committed or read_uncommitted/,
      );
    });

    it("a long poll returns a record produced while it waits", async () => {
      await client.admin.createTopic("live", { partitions: 1 });
      const c = client.consumer();
      c.assign([{ topic: "live", partition: 0 }]);
      c.seek({ topic: "live", partition: 0 }, 0);
      const polled = c.poll({ maxWaitMs: 5_000 });
      await new Promise((r) => setTimeout(r, 50));
      await client.producer().send("live", [{ value: Buffer.from("hello") }]);
      const got = await polled;
      expect(got.flatMap((fp) => fp.records.map((r) => r.value!.toString()))).toEqual(["hello"]);
      await c.close();
    });

    it("resets a group's offsets: dry run, earliest, shift, and refusal while members are live", async () => {
      await client.admin.createTopic("replay", { partitions: 2 });
      await client.producer().send("replay", ids(0, 100));
      const c = client.consumer({ groupId: "g3", autoOffsetReset: "earliest" });
      await c.subscribe(["replay"]);
      await consumeUntil(c, 100);
      await c.commit();
      await expect(client.admin.resetOffsets("g3", { to: "earliest" })).rejects.toMatchObject({
        code: "GROUP_NOT_EMPTY",
      });
      await c.close();

      const plan = await client.admin.resetOffsets("g3", { to: "earliest" }, { dryRun: true });
      expect(plan.reduce((n, r) => n + (r.from ?? 0), 0)).toBe(100);
      expect(plan.every((r) => r.to === 0)).toBe(true);
      const still = await client.admin.fetchCommittedOffsets("g3");
      expect(still.reduce((n, o) => n + o.offset, 0)).toBe(100);

      await client.admin.resetOffsets("g3", { to: "earliest" });
      const again = client.consumer({ groupId: "g3" });
      await again.subscribe(["replay"]);
      expect((await consumeUntil(again, 100)).length).toBe(100);
      await again.commit();
      await again.close();

      await client.admin.resetOffsets("g3", { to: "shift", by: -10 });
      const shifted = await client.admin.fetchCommittedOffsets("g3");
      expect(shifted.reduce((n, o) => n + o.offset, 0)).toBe(80);
    });

    transactionContractCases(() => client);

    it("keeps records and committed offsets across a reopen", async () => {
      if (target.reopen === undefined) return;
      await client.admin.createTopic("durable", {
        partitions: 2,
        config: { flushPolicy: "always" },
      });
      await client.producer().send("durable", ids(0, 50));
      const c = client.consumer({ groupId: "g4", autoOffsetReset: "earliest" });
      await c.subscribe(["durable"]);
      await consumeUntil(c, 50);
      await c.commit();
      await c.close();
      client = await target.reopen();
      const d = await client.admin.describeTopic("durable");
      expect(d.partitions.reduce((n, p) => n + p.logEndOffset, 0)).toBe(50);
      const offsets = await client.admin.fetchCommittedOffsets("g4");
      expect(offsets.reduce((n, o) => n + o.offset, 0)).toBe(50);
    });
  });
}

/**
 * Polls each consumer in its own loop, as separate processes would, until `done` or 60 s.
 * Never in lockstep (both polls awaited, then both again): a member's join waits for the
 * other member's next poll, which lockstep holds back until that join ends.
 */
async function pollEachUntil(consumers: Consumer[], done: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  await Promise.all(
    consumers.map(async (c) => {
      while (!done() && Date.now() < deadline) await c.poll({ maxWaitMs: 20 });
    }),
  );
}

function ids(from: number, to: number) {
  return Array.from({ length: to - from }, (_, i) => ({
    key: Buffer.from(`id-${from + i}`),
    value: Buffer.from(String(from + i)),
  }));
}

/** Polls until `count` records arrived (or 20 s passed); returns their values as numbers. */
export async function consumeUntil(consumer: Consumer, count: number): Promise<number[]> {
  const out: number[] = [];
  const deadline = Date.now() + 60_000;
  while (out.length < count && Date.now() < deadline) {
    const polled: FetchedPartition[] = await consumer.poll({ maxWaitMs: 100 });
    for (const fp of polled) for (const r of fp.records) out.push(Number(r.value!.toString()));
  }
  return out;
}

/** Reads every partition from offset 0 to its end with a manually assigned consumer. */
export async function readAll(
  client: LogClient,
  topic: string,
  partitions: number,
): Promise<LogRecord[][]> {
  const ends = await client.admin.listOffsets(topic, "latest");
  const c = client.consumer();
  c.assign(Array.from({ length: partitions }, (_, p) => ({ topic, partition: p })));
  for (let p = 0; p < partitions; p++) c.seek({ topic, partition: p }, 0);
  const out: LogRecord[][] = Array.from({ length: partitions }, () => []);
  const deadline = Date.now() + 60_000;
  const done = () =>
    ends.every((e) => (c.position({ topic, partition: e.partition }) ?? 0) >= e.offset);
  while (!done() && Date.now() < deadline) {
    for (const fp of await c.poll({ maxWaitMs: 50 })) {
      // Copy: the records share memory with the fetched buffer.
      for (const r of fp.records) {
        out[fp.partition]!.push({
          ...r,
          key: r.key && Buffer.from(r.key),
          value: r.value && Buffer.from(r.value),
        });
      }
    }
  }
  await c.close();
  return out;
}
