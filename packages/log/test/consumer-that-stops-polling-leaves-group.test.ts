import { afterEach, describe, it } from "vitest";
import { openEmbeddedLog } from "../src/embedded-log.js";
import { stoppedPollerLeavesGroup } from "../src/testing/index.js";
import { tempDir } from "./registry-helpers.js";

describe("a consumer that stops polling", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("leaves its group after maxPollIntervalMs: its partitions move, and its next poll reports them lost and rejoins", async () => {
    const { dir, cleanup } = tempDir("max-poll-");
    cleanups.push(cleanup);
    const log = await openEmbeddedLog(dir, { groupInitialRebalanceDelayMs: 50 });
    cleanups.push(() => log.close());
    await stoppedPollerLeavesGroup(log);
  });
});
