import { describe, it } from "vitest";
import { brokerBackend } from "./runtime-helpers.js";
import { crashRestoreScenario } from "./worker-scenarios.js";

// scripts/fault-loops.sh runs many more kills through this variable.
const KILLS = Number(process.env.TRIBUTARY_WORKER_KILLS ?? 6);

describe("a stateful worker killed with SIGKILL, again and again", () => {
  // bounded by process starts (tsx) and session expiry; generous for a loaded 2-core box
  it("restores its store from the changelog and loses no input: every key ends with the reference set of ids", {
    timeout: Math.max(90_000, KILLS * 12_000),
  }, async () => {
    const backend = await brokerBackend();
    try {
      // a killed member holds its partitions until its session expires: keep that short
      await crashRestoreScenario(backend, { kills: KILLS, sessionMs: 1200 });
    } finally {
      await backend.close();
    }
  });
});
