import type { LogClient, ProducerRecord } from "@tributary/log";
import { describe, expect, it } from "vitest";
import {
  fkCustomerSerde,
  fkOrderSerde,
  orderCustomerSerde,
} from "./fixtures/fk-orders-customers-app.js";
import { type FkChange, foreignKeyPhases, foreignKeyReference } from "./foreign-key-helpers.js";
import { str } from "./helpers.js";
import { produce, sameMap, waitForTable, workersPerTest } from "./runtime-helpers.js";

const run = workersPerTest();

function record(c: FkChange): ProducerRecord {
  const serde = (c.table === "orders" ? fkOrderSerde : fkCustomerSerde) as {
    serialize(v: unknown): Buffer | null;
  };
  return { key: Buffer.from(c.key), value: c.value === null ? null : serde.serialize(c.value) };
}

describe("foreign-key table-table join (KIP-213) on 2 worker processes", () => {
  it("orders joined with their customers through the subscription topics equal the reference after inserts, foreign-key changes, customer updates and deletes, order deletes", {
    timeout: 120_000,
  }, async () => {
    const { log } = await run.open();
    await createTopics(log);
    for (const i of [0, 1]) await run.start("fk-orders-customers-app.ts", `fk-w${i}`);
    const done: FkChange[] = [];
    for (const phase of foreignKeyPhases(11)) await replay(log, phase, done);
    const topics = await log.admin.listTopics({ includeInternal: true });
    const registration = topics.find((t) => t.endsWith("-subscription-registration-topic"))!;
    const response = topics.find((t) => t.endsWith("-subscription-response-topic"))!;
    expect((await log.admin.describeTopic(registration)).partitions).toHaveLength(2);
    expect((await log.admin.describeTopic(response)).partitions).toHaveLength(3);
  });

  it("still equals the reference when a worker is SIGKILLed while subscriptions and responses are in flight, and a new one takes over its tasks", {
    timeout: 120_000,
  }, async () => {
    const { log } = await run.open();
    await createTopics(log);
    const first = await run.start("fk-orders-customers-app.ts", "fk-k0");
    await run.start("fk-orders-customers-app.ts", "fk-k1");
    const done: FkChange[] = [];
    const phases = foreignKeyPhases(23);
    await replay(log, phases[0]!, done);
    await replay(log, phases[1]!, done, async () => {
      first.proc.kill("SIGKILL");
      await first.proc.exited;
      await run.start("fk-orders-customers-app.ts", "fk-k2");
    });
    for (const phase of phases.slice(2)) await replay(log, phase, done);
  });
});

async function createTopics(log: LogClient): Promise<void> {
  // different counts: the subscription topic takes the customers', the response topic
  // the orders'
  await log.admin.createTopic("orders", { partitions: 3 });
  await log.admin.createTopic("customers", { partitions: 2 });
  await log.admin.createTopic("orders-customers-inner", { partitions: 2 });
  await log.admin.createTopic("orders-customers-left", { partitions: 2 });
}

/**
 * Produces a phase in one go (customers, then orders: the two tables' sub-topologies
 * process them in whatever order their fetches bring), runs `meanwhile`, then waits until
 * both result topics equal the reference for everything produced so far.
 */
async function replay(
  log: LogClient,
  phase: { name: string; changes: FkChange[] },
  done: FkChange[],
  meanwhile?: () => Promise<void>,
): Promise<void> {
  for (const table of ["customers", "orders"] as const) {
    const changes = phase.changes.filter((c) => c.table === table);
    await produce(log, table, changes.map(record));
    done.push(...changes);
  }
  await meanwhile?.();
  for (const [topic, leftJoin] of [
    ["orders-customers-inner", false],
    ["orders-customers-left", true],
  ] as const) {
    const expected = foreignKeyReference(done, leftJoin);
    const got = await waitForTable(
      log,
      topic,
      str,
      orderCustomerSerde,
      (t) => sameMap(t, expected),
      `${topic} after ${phase.name}`,
    );
    expect(sameMap(got, expected)).toBe(true);
  }
}
