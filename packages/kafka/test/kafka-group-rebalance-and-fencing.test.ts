import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import readline from "node:readline";
import type { Consumer, TopicPartition } from "@tributary/log";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KafkaLog } from "../src/kafka-log.js";
import { dropNamespace, kafkaBrokers, openTestLog, uniqueNamespace } from "./kafka-helpers.js";

const parts = (tps: TopicPartition[]) => tps.map((tp) => tp.partition).sort((a, b) => a - b);

async function pollUntil(consumers: Consumer[], done: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  // Each member polls in its own loop, as separate processes would.
  await Promise.all(
    consumers.map(async (c) => {
      while (!done() && Date.now() < deadline) await c.poll({ maxWaitMs: 50 });
    }),
  );
  if (!done()) throw new Error(`condition not reached in ${ms} ms`);
}

describe("consumer groups on Kafka: rebalances reach the listener, zombies are fenced", () => {
  const namespace = uniqueNamespace("grp");
  let log: KafkaLog;

  beforeAll(async () => {
    log = await openTestLog(namespace);
  });
  afterAll(async () => {
    await log.close();
    await dropNamespace(namespace);
  });

  it("revokes a member's partitions (it commits them) before the group hands out new shares", async () => {
    await log.admin.createTopic("moves", { partitions: 2 });
    await log.producer().send("moves", [
      { value: Buffer.from("a"), partition: 0 },
      { value: Buffer.from("b"), partition: 1 },
    ]);
    const events: string[] = [];
    const a: Consumer = log.consumer({
      groupId: "movers",
      autoOffsetReset: "earliest",
      sessionTimeoutMs: 3000,
      listener: {
        onPartitionsAssigned: (tps) => {
          events.push(`a assigned ${parts(tps)}`);
        },
        onPartitionsRevoked: async (tps) => {
          // The moment to commit: the generation is still this member's.
          await a.commit();
          events.push(`a revoked ${parts(tps)} (committed)`);
        },
      },
    });
    await a.subscribe(["moves"]);
    let read = 0;
    const deadline = Date.now() + 60_000;
    while (read < 2 && Date.now() < deadline) {
      for (const fp of await a.poll({ maxWaitMs: 100 })) read += fp.records.length;
    }
    expect(read).toBe(2);
    expect(parts(a.assignment())).toEqual([0, 1]);

    const b = log.consumer({
      groupId: "movers",
      autoOffsetReset: "earliest",
      sessionTimeoutMs: 3000,
      listener: { onPartitionsAssigned: (tps) => void events.push(`b assigned ${parts(tps)}`) },
    });
    await b.subscribe(["moves"]);
    await pollUntil([a, b], () => a.assignment().length === 1 && b.assignment().length === 1);

    expect(events[0]).toBe("a assigned 0,1");
    expect(events[1]).toBe("a revoked 0,1 (committed)");
    expect(events.slice(2).sort()).toEqual(
      [`a assigned ${parts(a.assignment())}`, `b assigned ${parts(b.assignment())}`].sort(),
    );
    // What a committed while giving its partitions up is what b starts from: nothing is
    // read twice.
    const committed = await log.admin.fetchCommittedOffsets("movers");
    expect(committed.map((c) => c.offset)).toEqual([1, 1]);
    const again = await b.poll({ maxWaitMs: 300 });
    expect(again.flatMap((fp) => fp.records)).toEqual([]);
    await a.close();
    await b.close();
  });

  it("refuses the commit of a member that stalled past its session while the group moved on", async () => {
    await log.admin.createTopic("fenced", { partitions: 1 });
    await log.producer().send("fenced", [{ value: Buffer.from("x") }, { value: Buffer.from("y") }]);
    const child = spawnMember(namespace, "zombies", "fenced");
    try {
      const lines = readline.createInterface({ input: child.process.stdout! });
      const next = nextMessage(lines);
      expect(await next((m) => Array.isArray(m.assigned) && m.assigned.length === 1)).toEqual({
        assigned: [0],
      });

      // The child stops heartbeating; its 2 s session expires and the partition goes to a
      // new member; then (told through a file, as its event loop is blocked) the child,
      // unaware, commits with its old generation.
      const resume = path.join(mkdtempSync(path.join(tmpdir(), "zombie-")), "resume");
      child.process.stdin!.write(`freeze-commit ${resume}\n`);
      const b = log.consumer({
        groupId: "zombies",
        autoOffsetReset: "earliest",
        sessionTimeoutMs: 3000,
      });
      await b.subscribe(["fenced"]);
      await pollUntil([b], () => b.assignment().length === 1, 120_000);
      writeFileSync(resume, "");

      const outcome = await next((m) => m.commit !== undefined);
      expect(["UNKNOWN_MEMBER", "ILLEGAL_GENERATION"]).toContain(outcome.commit);
      // The refused commit changed nothing: the group has no offset for the partition.
      expect(await log.admin.fetchCommittedOffsets("zombies")).toEqual([]);
      await b.close();
    } finally {
      await child.stop();
    }
  });
});

function spawnMember(namespace: string, groupId: string, topic: string) {
  const file = path.join(import.meta.dirname, "fixtures", "group-member-child.ts");
  const proc: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", file, kafkaBrokers(), namespace, groupId, topic],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const exited = new Promise<void>((resolve) => proc.on("exit", () => resolve()));
  // Asks the child to leave and kills it if it has not within 10 s (a frozen child cannot
  // read stdin). The clock starts here, not at spawn: a test on a loaded machine may run far
  // longer than 10 s, and the child must live through all of it.
  const stop = async () => {
    proc.stdin?.write("exit\n");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return { process: proc, stop };
}

// biome-ignore lint/suspicious/noExplicitAny: messages are the child's JSON lines
type Message = Record<string, any>;

/** Returns a function that waits (bounded) for the child's next line matching `pred`. */
function nextMessage(lines: readline.Interface) {
  const queue: Message[] = [];
  const waiters: (() => void)[] = [];
  lines.on("line", (line) => {
    queue.push(JSON.parse(line) as Message);
    for (const w of waiters.splice(0)) w();
  });
  return async (pred: (m: Message) => boolean, ms = 30_000): Promise<Message> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = queue.findIndex(pred);
      if (i >= 0) return queue.splice(i, 1)[0]!;
      if (Date.now() > deadline) throw new Error(`the child sent no matching message in ${ms} ms`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
}
