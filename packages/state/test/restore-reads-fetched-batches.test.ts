import path from "node:path";
import type { LogClient } from "@tributary/log";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openLog, removeDir, tempDir } from "./helpers.js";
import {
  countingBatchReaders,
  restoreContents,
  type ScenarioState,
  withoutBatchReader,
  writeMixedChangelog,
} from "./restore-scenario.js";

const TOPIC = "mixed-changelog";

/**
 * Restore reads the changelog's fetched batches undecoded (LogClient.batchReader) and
 * copies keys and values from their bytes: it must restore exactly what reading records
 * through a consumer restores, aborted transactions left out under read_committed.
 */
describe("restore from fetched batches", () => {
  let root: string;
  let client: LogClient;
  let expected: ScenarioState;
  let end: number;

  beforeEach(async () => {
    root = tempDir("raw-restore");
    client = await openLog(path.join(root, "log"));
    await client.admin.createTopic(TOPIC, { partitions: 1 });
    expected = await writeMixedChangelog(client, TOPIC, "raw-restore-txn");
    end = (await client.admin.listOffsets(TOPIC, "latest"))[0]!.offset;
  });
  afterEach(async () => {
    await client.close();
    removeDir(root);
  });

  it("restores only committed data under read_committed: no aborted record reaches the store", async () => {
    const counting = countingBatchReaders(client);
    const restored = await restoreContents(
      counting.client,
      TOPIC,
      path.join(root, "committed"),
      "read_committed",
    );
    expect(counting.opened()).toBe(1);
    expect(restored.contents).toEqual(expected.committed);
    expect([...restored.contents.values()]).not.toContain("ABORTED");
    expect(restored.contents.get("k10")).toBe("after-abort");
    // The offset covers the whole changelog, markers included.
    expect(restored.offset).toBe(end);
  });

  it("restores aborted transactions' records too under read_uncommitted, as Kafka's consumer reads them", async () => {
    const restored = await restoreContents(
      countingBatchReaders(client).client,
      TOPIC,
      path.join(root, "uncommitted"),
      "read_uncommitted",
    );
    expect(restored.contents).toEqual(expected.uncommitted);
    expect(restored.contents.get("aborted-3")).toBe("ABORTED");
    expect(restored.offset).toBe(end);
  });

  it("restores the same contents and record count as the consumer's read of the same changelog", async () => {
    for (const isolation of ["read_committed", "read_uncommitted"] as const) {
      const batches = await restoreContents(
        client,
        TOPIC,
        path.join(root, `batches-${isolation}`),
        isolation,
      );
      const polled = await restoreContents(
        withoutBatchReader(client),
        TOPIC,
        path.join(root, `polled-${isolation}`),
        isolation,
      );
      expect(batches.contents).toEqual(polled.contents);
      expect(batches.records).toBe(polled.records);
      expect(batches.offset).toBe(polled.offset);
    }
  });
});
