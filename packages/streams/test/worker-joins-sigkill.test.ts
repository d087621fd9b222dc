import fs from "node:fs";
import { connectBroker, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import type { Enriched } from "./fixtures/orders-joins-app.js";
import { seeded } from "./helpers.js";
import {
  readTopic,
  startBrokerProcess,
  startWorker,
  stopWorker,
  tempDir,
  type WorkerProc,
} from "./runtime-helpers.js";
import {
  createJoinTopics,
  enrichedReference,
  generateRounds,
  joinReference,
  joinTopics,
  produceRound,
} from "./worker-joins-helpers.js";
import { waitCaughtUp } from "./worker-windows-helpers.js";

const str = Serdes.string();
const KILL_ROUNDS = new Set([2, 5, 8]);
// a killed member holds its partitions until its session expires: keep that short
// commits every 500 ms: a kill 100-400 ms after a round arrives finds it processed (outputs
// and changelog appends possibly sent) but not committed, so the next worker redoes it
const WORKER_ARGS = ["--session-ms", "1200", "--commit-ms", "500"];

describe("joins on a worker killed with SIGKILL mid-round, three times", () => {
  it("the join outputs hold exactly the reference's enrichments and pairs (at-least-once: repeats are counted, nothing lost or invented)", {
    timeout: 300_000, // a hang guard (loaded machines)
  }, async () => {
    const rounds = generateRounds(12, 500, 300, 17);
    const enriched = enrichedReference(rounds);
    const ref = joinReference(rounds);
    const rand = seeded(23);
    const b = await startBrokerProcess(tempDir("joins-kill-broker"));
    const log = await connectBroker(b.address);
    try {
      await createJoinTopics(log);
      let state = tempDir("joins-kill-state");
      let w: WorkerProc = await startWorker(b.address, "orders-joins-app.ts", state, WORKER_ARGS);
      const producer = log.producer();
      const caughtUp = async () => waitCaughtUp(log, "orders-joins-app", await joinTopics(log));
      let kills = 0;
      let restored = 0;
      for (let r = 0; r < rounds.length; r++) {
        let calls = 0;
        await produceRound(producer, rounds[r]!, async () => {
          if (++calls === 2 && KILL_ROUNDS.has(r)) {
            // mid-round: some of the round processed, some committed, some neither
            await new Promise((res) => setTimeout(res, 100 + Math.floor(rand() * 300)));
            w.proc.kill("SIGKILL");
            await w.proc.exited;
            kills++;
            if (kills === 2) {
              fs.rmSync(state, { recursive: true, force: true });
              state = tempDir("joins-kill-state");
            }
            w = await startWorker(b.address, "orders-joins-app.ts", state, WORKER_ARGS);
          }
          await caughtUp();
        });
        for (const e of w.proc.events<{ event: string; total?: number }>()) {
          if (e.event === "restore" && r > 0) restored += e.total ?? 0;
        }
      }
      await producer.close();
      await stopWorker(w);
      expect(kills).toBe(3);
      expect(restored).toBeGreaterThan(0);

      const out = (await readTopic(log, "enriched-orders", str, Serdes.json<Enriched>())).records;
      expect(new Map(out.map((r) => [r.value!.order, r.value]))).toEqual(enriched);
      const inner = (await readTopic(log, "paid-orders", str, str)).records.map((r) => r.value!);
      expect(new Set(inner)).toEqual(ref.pairs);
      const outer = (await readTopic(log, "order-payments", str, str)).records.map((r) => r.value!);
      expect(new Set(outer)).toEqual(new Set([...ref.pairs, ...ref.unmatched]));
      console.log(
        `joins after ${kills} SIGKILLs: repeats ${out.length - enriched.size} of ${enriched.size} enrichments, ${inner.length - ref.pairs.size} of ${ref.pairs.size} inner pairs, ${outer.length - ref.pairs.size - ref.unmatched.size} of ${ref.pairs.size + ref.unmatched.size} outer results`,
      );
    } finally {
      await log.close();
      b.proc.kill("SIGTERM");
      await b.proc.exited;
    }
  });
});
