import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connectBroker } from "../src/broker/connect-broker.js";
import {
  type BrokerProc,
  type ChildProc,
  eventually,
  FIXTURES_DIR,
  spawnTs,
  startBrokerProcess,
  tempDir,
} from "./broker-helpers.js";
import { outOfOrder, readNumbersBack } from "./read-back-helpers.js";

/**
 * The idempotent producer (on by default) under a broker SIGKILLed and restarted several
 * times while sends are in flight: the producer's own retries re-send batches whose acks
 * were lost, and the log stores each once. Every acknowledged record is there exactly once,
 * and each partition holds its records in the order they were sent. With
 * TRIBUTARY_IDEMPOTENT=false the same run measures the at-least-once baseline (the
 * duplicate count is printed; the no-duplicate assertion is then skipped).
 * TRIBUTARY_PRODUCER_KILLS sets the number of kills (default 3; scripts/fault-loops.sh runs 25).
 */
const PARTITIONS = 3;
const KILLS = Number(process.env.TRIBUTARY_PRODUCER_KILLS ?? 3);
/** The kill loop stops early past this budget (the producer still sends everything). */
const KILL_SECONDS = Number(process.env.TRIBUTARY_FAULT_SECONDS ?? 600);
const RECORDS_PER_KILL = 1500;
const IDEMPOTENT = process.env.TRIBUTARY_IDEMPOTENT !== "false";

describe("an idempotent producer while the broker is SIGKILLed and restarted", () => {
  const dir = tempDir("idempotent-kills");
  const procs: ChildProc[] = [];
  afterAll(() => {
    for (const p of procs) p.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`stores every acked record exactly once, in order, across ${KILLS} kills`, async () => {
    let broker: BrokerProc = await startBrokerProcess(dir);
    procs.push(broker.proc);
    const port = broker.address.split(":").at(-1)!;
    const setup = await connectBroker(broker.address);
    // "always": each send waits for an fsync, so many are in flight at each kill.
    await setup.admin.createTopic("t", {
      partitions: PARTITIONS,
      config: { flushPolicy: "always" },
    });
    await setup.close();

    const total = RECORDS_PER_KILL * (KILLS + 1);
    const producer = spawnTs(path.join(FIXTURES_DIR, "retrying-producer.ts"), [
      broker.address,
      "t",
      String(total),
      "10",
      "8",
      String(IDEMPOTENT),
    ]);
    procs.push(producer);
    const acked = () => producer.events<{ acked?: number[] }>().flatMap((e) => e.acked ?? []);

    const deadline = Date.now() + KILL_SECONDS * 1000;
    for (let kill = 1; kill <= KILLS && Date.now() < deadline; kill++) {
      await eventually(
        () => (acked().length >= kill * RECORDS_PER_KILL ? true : undefined),
        `${kill * RECORDS_PER_KILL} records acked`,
        120_000,
      );
      broker.proc.kill("SIGKILL");
      await broker.proc.exited;
      broker = await startBrokerProcess(dir, ["--listen", `127.0.0.1:${port}`]);
      procs.push(broker.proc);
    }
    await producer.waitForLine((l) => l.includes('"done"') || l.includes('"failed"'), "done");
    expect(producer.events<{ failed?: string }>().flatMap((e) => e.failed ?? [])).toEqual([]);
    expect((await producer.exited).code).toBe(0);
    expect(new Set(acked()).size).toBe(total);

    const byPartition = await readNumbersBack(broker.address, "t", PARTITIONS);
    const all = byPartition.flat();
    const duplicates = all.length - new Set(all).size;
    const missing = [...Array(total).keys()].filter((n) => !all.includes(n));
    console.log(
      JSON.stringify({ idempotent: IDEMPOTENT, kills: KILLS, stored: all.length, duplicates }),
    );
    expect(missing).toEqual([]);
    if (!IDEMPOTENT) return;
    expect(duplicates).toBe(0);
    expect(all.length).toBe(total);
    expect(outOfOrder(byPartition)).toEqual([]);
  });
});
