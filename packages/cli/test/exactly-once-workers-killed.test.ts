import { afterEach, describe, it } from "vitest";
import { expectExactlyOnce, runEosScenario } from "./exactly-once-scenario.js";
import { cleanup, tempDir } from "./helpers.js";

// Kafka's streams_eos_test on the embedded log (see exactly-once-scenario.ts): `tributary
// run --workers 3 --processing-guarantee exactly_once` on a data dir (the run starts its
// broker), the workers SIGKILLed in rotation while input flows; a read_committed verifier
// finds every input once in the echo output, every aggregate equal to the reference
// computed from the input, no aggregate output twice, and every RocksDB store the same
// database (IDENTITY) at the end as before the first kill. scripts/fault-loops.sh runs it
// with many kills (TRIBUTARY_EOS_KILLS, bounded by TRIBUTARY_FAULT_SECONDS).

afterEach(cleanup);
const KILLS = Number(process.env.TRIBUTARY_EOS_KILLS ?? 3);
const RECORDS = Math.max(15_000, KILLS * 4_000);
const KILL_BUDGET_MS = Number(process.env.TRIBUTARY_FAULT_SECONDS ?? 600) * 1000;

describe("exactly-once on the embedded log with workers SIGKILLed in rotation", () => {
  it("every aggregate equals the reference, no output twice, no store rebuilt from empty", {
    timeout: 600_000 + KILL_BUDGET_MS, // a hang guard (loaded machines)
  }, async () => {
    const r = await runEosScenario({
      where: ["--data", tempDir()],
      suffix: "embedded",
      guarantee: "exactly_once",
      kills: KILLS,
      records: RECORDS,
      killBudgetMs: KILL_BUDGET_MS,
    });
    console.log(`exactly-once scenario on the embedded log: ${r.kills} worker SIGKILLs`);
    expectExactlyOnce(r, RECORDS);
  });
});
