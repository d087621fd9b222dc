import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { encodeBatch } from "../src/record-batch.js";
import { TopicRegistry } from "../src/storage/topic-registry.js";
import { readAll, removeTempDirs, tempDir } from "./storage-helpers.js";

afterEach(removeTempDirs);

describe("deleting a topic and creating it again", () => {
  it("refuses, as retriable, a create of the same name while the delete is still closing its logs, so the new topic never opens the old data", async () => {
    const dir = tempDir();
    const registry = TopicRegistry.open(dir);
    registry.create("t", { partitions: 1 });
    await registry
      .partition("t", 0)
      .append(encodeBatch([{ key: null, value: Buffer.from("old") }]));

    const deleting = registry.delete("t");
    // The delete is still closing the old logs: the old directories are not free yet.
    expect(() => registry.create("t", { partitions: 1 })).toThrow(
      expect.objectContaining({ code: "TOPIC_EXISTS", retriable: true }),
    );
    await deleting;
    registry.create("t", { partitions: 1 });

    const log = registry.partition("t", 0);
    expect(log.logEndOffset).toBe(0);
    await log.append(encodeBatch([{ key: null, value: Buffer.from("new") }]));
    expect(fs.existsSync(path.join(dir, "t.topic.json"))).toBe(true);
    await registry.close();

    const reopened = TopicRegistry.open(dir);
    expect(reopened.list()).toEqual(["t"]);
    const values = readAll(reopened.partition("t", 0)).map((r) => r.value?.toString());
    expect(values).toEqual(["new"]);
    await reopened.close();
  });
});
