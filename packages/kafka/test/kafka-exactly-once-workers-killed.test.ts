import { afterEach, describe, expect, it } from "vitest";
import { cleanup } from "../../cli/test/helpers.js";
import {
  expectExactlyOnce,
  lastValues,
  runEosScenario,
} from "../../cli/test/exactly-once-scenario.js";
import { dropTopicsAfterAll, kafkaBrokers, uniqueNamespace } from "./kafka-helpers.js";

// Kafka's streams_eos_test on Kafka, with the real `tributary run` (see
// packages/cli/test/exactly-once-scenario.ts): three workers SIGKILLed in rotation under
// --processing-guarantee exactly_once; a read_committed verifier finds every aggregate
// equal to the reference computed from the input, no output record twice, and no store
// rebuilt from an empty directory. The at-least-once run beside it shows what the same
// kills do without transactions: nothing lost, but nothing promised against repeats.

const brokers = kafkaBrokers();
afterEach(cleanup);
const suffix = uniqueNamespace("eos");
dropTopicsAfterAll(suffix);
const where = ["--kafka", brokers];
// scripts/fault-loops.sh runs it with many kills (TRIBUTARY_EOS_KILLS, bounded by
// TRIBUTARY_FAULT_SECONDS); the Kafka suite with a few
const KILLS = Number(process.env.TRIBUTARY_EOS_KILLS ?? 3);
const RECORDS = Math.max(15_000, KILLS * 4_000);
const KILL_BUDGET_MS = Number(process.env.TRIBUTARY_FAULT_SECONDS ?? 600) * 1000;

describe("exactly-once on Kafka with workers SIGKILLed in rotation", () => {
  it("exactly_once: every aggregate equals the reference, no output twice, no store rebuilt", {
    timeout: 600_000 + KILL_BUDGET_MS, // a hang guard (loaded machines)
  }, async () => {
    const r = await runEosScenario({
      where,
      suffix: `${suffix}x`,
      guarantee: "exactly_once",
      kills: KILLS,
      records: RECORDS,
      killBudgetMs: KILL_BUDGET_MS,
    });
    console.log(`exactly-once scenario on Kafka: ${r.kills} worker SIGKILLs, ${RECORDS} records`);
    expectExactlyOnce(r, RECORDS);
  });

  it("at_least_once under the same kills: nothing lost (repeats allowed, as before)", {
    timeout: 600_000,
  }, async () => {
    const r = await runEosScenario({
      where,
      suffix: `${suffix}a`,
      guarantee: "at_least_once",
      kills: KILLS,
      records: RECORDS,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const ids = [...r.echoed.keys()].sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: RECORDS }, (_, i) => i));
    // what the same kills did without transactions (repeats are allowed, and reported)
    const repeated = [...r.echoed.values()].filter((n) => n > 1).length;
    console.log(`at-least-once on Kafka: ${r.kills} kills, ${repeated} input records output twice`);
    for (const [k, n] of r.reference.counts) {
      expect(lastValues(r.counts).get(k)).toBeGreaterThanOrEqual(n);
    }
    for (const [k, s] of r.reference.sums) {
      expect(lastValues(r.sums).get(k)).toBeGreaterThanOrEqual(s);
    }
  });
});
