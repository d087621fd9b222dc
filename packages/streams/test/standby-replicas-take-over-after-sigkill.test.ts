import { afterEach, describe, it } from "vitest";
import { standbyFailoverScenario } from "./standby-failover-scenario.js";
import { type Backend, brokerBackend, type WorkerProc } from "./runtime-helpers.js";

let backend: Backend | undefined;
const workers: WorkerProc[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) w.proc.kill("SIGKILL");
  await backend?.close();
  backend = undefined;
});

describe("standby replicas", () => {
  it("keep a warm copy that answers stale reads while the active worker is dead and lets the moved task restore only the tail", async () => {
    backend = await brokerBackend();
    await standbyFailoverScenario(backend, workers);
  });

  it("do the same under exactly-once, reading the changelogs read_committed", async () => {
    backend = await brokerBackend();
    await standbyFailoverScenario(backend, workers, ["--guarantee", "exactly_once"]);
  });
});
