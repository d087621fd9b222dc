import path from "node:path";
import { describe, it } from "vitest";
import { globalTableReadCommittedScenario } from "./global-table-eos-scenario.js";
import { brokerPerFile } from "./runtime-helpers.js";

const env = brokerPerFile("global-eos");

describe("a global table under exactly-once", () => {
  it("never joins a record of an aborted transaction on its topic, at bootstrap or later", {
    timeout: 180_000, // a hang guard (loaded machines)
  }, async () => {
    await globalTableReadCommittedScenario(env.log, path.join(env.root, "state"));
  });
});
