import { describe, it } from "vitest";
import { brokerBackend } from "./runtime-helpers.js";
import { killRepeatScenario } from "./worker-kill-repeat-scenario.js";

// scripts/fault-loops.sh runs many more kills through this variable.
const KILLS = Number(process.env.TRIBUTARY_WORKER_KILLS ?? 4);

describe("word-count workers killed with SIGKILL while lines keep arriving", () => {
  // bounded by process starts (tsx) and session expiry; generous for a loaded 2-core box
  it("count every word at least once, and twice no more words than the uncommitted tails at the kills and the repeats dropped workers reported", {
    timeout: Math.max(180_000, KILLS * 30_000),
  }, async () => {
    const backend = await brokerBackend();
    try {
      await killRepeatScenario(backend, { kills: KILLS, sessionMs: 2000, historyLines: 6000 });
    } finally {
      await backend.close();
    }
  });
});
