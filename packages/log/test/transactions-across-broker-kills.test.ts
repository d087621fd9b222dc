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

/**
 * A transactional writer while the broker is SIGKILLed and restarted several times: the
 * coordinator's state (`__transaction_state`) and the partitions' transaction state must
 * survive each kill, so that every transaction is all or nothing to a read_committed
 * reader, every acknowledged commit is there whole and once, and no transaction is left
 * open (a decided one is completed by the restarted broker; an undecided one is aborted
 * when the writer's next instance fences it). TRIBUTARY_TXN_KILLS sets the kills (default 3).
 */
const PARTITIONS = 3;
const KILLS = Number(process.env.TRIBUTARY_TXN_KILLS ?? 3);
const PER_KILL = 25;
const RECORDS = 12;

describe("transactions while the broker is SIGKILLed and restarted", () => {
  const dir = tempDir("txn-kills");
  const procs: ChildProc[] = [];
  afterAll(() => {
    for (const p of procs) p.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`keeps every transaction all or nothing, and every acked commit, across ${KILLS} kills`, async () => {
    let broker: BrokerProc = await startBrokerProcess(dir);
    procs.push(broker.proc);
    const port = broker.address.split(":").at(-1)!;
    const setup = await connectBroker(broker.address);
    // "always": each marker and each state record waits for an fsync, so a kill often
    // lands between a commit's decision and its markers.
    await setup.admin.createTopic("t", {
      partitions: PARTITIONS,
      config: { flushPolicy: "always" },
    });
    await setup.close();

    const total = PER_KILL * (KILLS + 1);
    const writer = spawnTs(path.join(FIXTURES_DIR, "transactional-writer.ts"), [
      broker.address,
      "t",
      String(total),
      String(RECORDS),
    ]);
    procs.push(writer);
    const committed = () =>
      writer
        .events<{ committed?: number }>()
        .flatMap((e) => (e.committed === undefined ? [] : [e.committed]));
    for (let kill = 1; kill <= KILLS; kill++) {
      await eventually(
        () => (committed().length >= kill * PER_KILL ? true : undefined),
        `${kill * PER_KILL} transactions committed`,
        120_000,
      );
      broker.proc.kill("SIGKILL");
      await broker.proc.exited;
      broker = await startBrokerProcess(dir, ["--listen", `127.0.0.1:${port}`]);
      procs.push(broker.proc);
    }
    await writer.waitForLine((l) => l.includes('"done"'), "done");
    expect((await writer.exited).code).toBe(0);

    const reader = await connectBroker(broker.address);
    const ends = await reader.admin.listOffsets("t", "latest");
    const read = async (isolation: "read_committed" | "read_uncommitted") => {
      const c = reader.consumer({ isolation });
      const tps = ends.map((e) => ({ topic: "t", partition: e.partition }));
      c.assign(tps);
      for (const tp of tps) c.seek(tp, 0);
      const values: string[] = [];
      // read_committed reaches the end too: no transaction may be left open.
      await eventually(async () => {
        for (const fp of await c.poll({ maxWaitMs: 100 })) {
          for (const r of fp.records) values.push(r.value!.toString());
        }
        return ends.every(
          (e) => (c.position({ topic: "t", partition: e.partition }) ?? 0) >= e.offset,
        )
          ? true
          : undefined;
      }, `${isolation} read to the end`);
      await c.close();
      return values;
    };
    const visible = await read("read_committed");
    const everything = await read("read_uncommitted");
    await reader.close();

    const byTxn = new Map<number, string[]>();
    for (const v of visible) {
      const t = Number(v.split(":")[0]);
      byTxn.set(t, [...(byTxn.get(t) ?? []), v]);
    }
    const partial = [...byTxn].filter(([, vs]) => new Set(vs).size !== RECORDS).map(([t]) => t);
    const missing = committed().filter((t) => !byTxn.has(t));
    const duplicates = visible.length - new Set(visible).size;
    console.log(
      JSON.stringify({
        kills: KILLS,
        transactions: total,
        acked: committed().length,
        visible: byTxn.size,
        stored: everything.length,
      }),
    );
    expect(partial).toEqual([]);
    expect(missing).toEqual([]);
    expect(duplicates).toBe(0);
    // Idempotent retries: even read_uncommitted holds no record twice.
    expect(everything.length - new Set(everything).size).toBe(0);
  }, 600_000);
});
