import { describe, it } from "vitest";
import { stoppedPollerLeavesGroup } from "@tributary/log/testing";
import { suiteLog } from "./kafka-helpers.js";

describe("a consumer that stops polling, on Kafka", () => {
  const suite = suiteLog("mpi");

  it("leaves its group after maxPollIntervalMs: its partitions move, and its next poll reports them lost and rejoins", async () => {
    await stoppedPollerLeavesGroup(suite.log);
  }, 120_000);
});
