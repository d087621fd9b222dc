import { describe, it } from "vitest";
import { backendPerTest, brokerBackend } from "./runtime-helpers.js";
import { standbyFailoverScenario } from "./standby-failover-scenario.js";

const run = backendPerTest();

describe("standby replicas", () => {
  it("keep a warm copy that answers stale reads while the active worker is dead and lets the moved task restore only the tail", async () => {
    await standbyFailoverScenario(run.use(await brokerBackend()), run.workers);
  });

  it("do the same under exactly-once, reading the changelogs read_committed", async () => {
    await standbyFailoverScenario(run.use(await brokerBackend()), run.workers, [
      "--guarantee",
      "exactly_once",
    ]);
  });
});
