import { afterEach, describe, expect, it } from "vitest";
import { InvalidConfigError } from "../src/errors.js";
import { parseTopicConfigEntries, resolveTopicConfig } from "../src/topic-config.js";
import { TopicRegistry } from "../src/storage/topic-registry.js";
import { removeTempDirs, tempDir } from "./storage-helpers.js";

afterEach(removeTempDirs);

describe("topic config limits", () => {
  it("refuses a flush.ms a timer cannot hold (Node would fire it every millisecond instead)", () => {
    expect(() => resolveTopicConfig({ flushPolicy: "interval", flushIntervalMs: 2 ** 31 })).toThrow(
      InvalidConfigError,
    );
    expect(() => parseTopicConfigEntries({ "flush.ms": "3000000000" })).toThrow(
      /flush\.ms=3000000000/,
    );
    expect(resolveTopicConfig({ flushIntervalMs: 2 ** 31 - 1 }).flushIntervalMs).toBe(2 ** 31 - 1);
  });

  it("a topic cannot be created with it either, and nothing is left behind", async () => {
    const dir = tempDir();
    const registry = TopicRegistry.open(dir);
    expect(() =>
      registry.create("t", {
        partitions: 1,
        config: { flushPolicy: "interval", flushIntervalMs: 2 ** 40 },
      }),
    ).toThrow(/flush\.ms/);
    expect(registry.list()).toEqual([]);
    await registry.close();
  });
});
