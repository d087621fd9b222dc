import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  ClosedError,
  InvalidArgumentError,
  InvalidConfigError,
  InvalidNameError,
  TopicExistsError,
  UnknownTopicError,
} from "../src/errors.js";
import { DEFAULT_TOPIC_CONFIG } from "../src/topic-config.js";
import { TopicRegistry } from "../src/storage/topic-registry.js";
import { listTree, runFixture, tempDir } from "./registry-helpers.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A data directory inside a parent we also watch, to prove nothing escapes it. */
function dirs(): { parent: string; data: string } {
  const t = tempDir("tributary-registry-");
  cleanups.push(t.cleanup);
  const data = path.join(t.dir, "data");
  return { parent: t.dir, data };
}

function open(data: string, now = () => 1_700_000_000_000): TopicRegistry {
  const r = TopicRegistry.open(data, { now });
  cleanups.push(() => r.close());
  return r;
}

describe("TopicRegistry", () => {
  it("creates topics with their partition directories and atomic metadata", () => {
    const { data } = dirs();
    const r = open(data);
    const meta = r.create("orders", { partitions: 3, config: { retentionMs: 60_000 } });
    expect(meta).toMatchObject({ name: "orders", partitions: 3, createdAt: 1_700_000_000_000 });
    expect(meta.config).toEqual({ ...DEFAULT_TOPIC_CONFIG, retentionMs: 60_000 });
    for (const p of [0, 1, 2])
      expect(fs.statSync(path.join(data, `orders-${p}`)).isDirectory()).toBe(true);
    const onDisk = JSON.parse(fs.readFileSync(path.join(data, "orders.topic.json"), "utf8"));
    expect(onDisk).toEqual({
      name: "orders",
      partitions: 3,
      config: meta.config,
      createdAt: 1_700_000_000_000,
    });
    expect(r.list()).toEqual(["orders"]);
    expect(r.has("orders")).toBe(true);
    expect(r.has("nope")).toBe(false);
    expect(r.get("orders")).toEqual(meta);
    expect(r.partition("orders", 2).logEndOffset).toBe(0);
    // no temp files left
    expect(fs.readdirSync(data).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("lists topics sorted, internal ones included", () => {
    const { data } = dirs();
    const r = open(data);
    for (const t of ["zeta", "__consumer_offsets", "alpha"]) r.create(t, { partitions: 1 });
    expect(r.list()).toEqual(["__consumer_offsets", "alpha", "zeta"]);
  });

  it("reopens with the same topics, partitions and config", async () => {
    const { data } = dirs();
    const r = TopicRegistry.open(data, { now: () => 42 });
    r.create("a", { partitions: 2, config: { cleanupPolicy: "compact" } });
    r.create("b", { partitions: 5 });
    await r.close();
    const again = open(data);
    expect(again.list()).toEqual(["a", "b"]);
    expect(again.get("a")).toMatchObject({ partitions: 2, createdAt: 42 });
    expect(again.get("a").config.cleanupPolicy).toBe("compact");
    expect(again.get("b").partitions).toBe(5);
    expect(again.partition("b", 4).logStartOffset).toBe(0);
  });

  it("refuses an existing topic, bad partition counts and bad config, creating nothing", () => {
    const { data } = dirs();
    const r = open(data);
    r.create("t", { partitions: 1 });
    expect(() => r.create("t", { partitions: 1 })).toThrow(TopicExistsError);
    for (const n of [0, -1, 1.5, 10_001, Number.NaN]) {
      expect(() => r.create("u", { partitions: n })).toThrow(InvalidArgumentError);
    }
    expect(() => r.create("u", { partitions: 1, config: { retentionMs: -5 } })).toThrow(
      InvalidConfigError,
    );
    expect(r.list()).toEqual(["t"]);
    expect(listTree(data).filter((f) => f.startsWith("u"))).toEqual([]);
  });

  it("refuses more than 10000 partitions, saying the range", () => {
    const { data } = dirs();
    const r = open(data);
    expect(() => r.create("big", { partitions: 10_001 })).toThrow(/1 to 10000/);
  });

  it("hostile names never create a path, inside or outside the data directory", () => {
    const { parent, data } = dirs();
    const r = open(data);
    const before = listTree(parent);
    const hostile = [
      "",
      ".",
      "..",
      "../x",
      "../../etc/passwd",
      "a/b",
      "a\\b",
      "/abs",
      "x".repeat(250),
      "nul\u0000",
      "t\u0430sks",
    ];
    for (const name of hostile) {
      expect(() => r.create(name, { partitions: 1 }), JSON.stringify(name)).toThrow(
        InvalidNameError,
      );
      expect(() => r.updateConfig(name, {})).toThrow(UnknownTopicError);
      expect(() => r.partition(name, 0)).toThrow(UnknownTopicError);
      expect(r.has(name)).toBe(false);
    }
    expect(listTree(parent)).toEqual(before);
  });

  it("deletes a topic: its metadata and partition directories go, the name can be reused", async () => {
    const { data } = dirs();
    const r = open(data);
    r.create("keep", { partitions: 1 });
    r.create("gone", { partitions: 3 });
    const log = r.partition("gone", 1);
    await r.delete("gone");
    expect(r.has("gone")).toBe(false);
    expect(r.list()).toEqual(["keep"]);
    expect(() => r.get("gone")).toThrow(UnknownTopicError);
    expect(() => r.partition("gone", 1)).toThrow(UnknownTopicError);
    expect(() => log.logEndOffset).not.toThrow(); // the old object is closed, not corrupted
    expect(fs.readdirSync(data).sort()).toEqual(["keep-0", "keep.topic.json"].sort());
    await expect(r.delete("gone")).rejects.toThrow(UnknownTopicError);
    r.create("gone", { partitions: 2 });
    expect(r.get("gone").partitions).toBe(2);
    expect(r.partition("gone", 0).logEndOffset).toBe(0);
  });

  it("names the missing topic or partition", () => {
    const { data } = dirs();
    const r = open(data);
    r.create("t", { partitions: 2 });
    expect(() => r.partition("t", 2)).toThrow(
      expect.objectContaining({ code: "UNKNOWN_PARTITION" }),
    );
    expect(() => r.partition("t", -1)).toThrow(/has no partition -1/);
    expect(() => r.partition("u", 0)).toThrow(expect.objectContaining({ code: "UNKNOWN_TOPIC" }));
    expect(() => r.get("u")).toThrow(/topic 'u' does not exist/);
  });

  it("updates config durably, keeping the fields not given, and refuses invalid values", async () => {
    const { data } = dirs();
    const r = TopicRegistry.open(data);
    r.create("t", { partitions: 2, config: { retentionMs: 1000 } });
    const c = r.updateConfig("t", { segmentBytes: 4096 });
    expect(c).toMatchObject({ retentionMs: 1000, segmentBytes: 4096 });
    expect(r.partition("t", 1).currentConfig.segmentBytes).toBe(4096);
    expect(() => r.updateConfig("t", { cleanupPolicy: "bogus" as never })).toThrow(
      InvalidConfigError,
    );
    expect(r.get("t").config.cleanupPolicy).toBe("delete");
    await r.close();
    const again = open(data);
    expect(again.get("t").config).toMatchObject({
      retentionMs: 1000,
      segmentBytes: 4096,
      cleanupPolicy: "delete",
    });
  });

  it("is closed after close", async () => {
    const { data } = dirs();
    const r = TopicRegistry.open(data);
    r.create("t", { partitions: 1 });
    await r.close();
    await r.close();
    expect(() => r.create("u", { partitions: 1 })).toThrow(ClosedError);
    expect(() => r.get("t")).toThrow(ClosedError);
    expect(() => r.partition("t", 0)).toThrow(ClosedError);
  });

  it("cleans the leftovers of interrupted deletes and metadata writes on open", async () => {
    const { data } = dirs();
    const r = TopicRegistry.open(data);
    r.create("live", { partitions: 2 });
    await r.close();
    // A delete that crashed after hiding its metadata: the marker and one partition left.
    fs.mkdirSync(path.join(data, "half-0"));
    fs.writeFileSync(path.join(data, "half-0", "00000000000000000000.log"), "x");
    fs.writeFileSync(
      path.join(data, "half.topic.json.0a1b2c-delete"),
      JSON.stringify({ name: "half", partitions: 2, config: {}, createdAt: 0 }),
    );
    fs.mkdirSync(path.join(data, "half-1.0a1b2c-delete"));
    // A delete that crashed while removing renamed partitions.
    fs.mkdirSync(path.join(data, "old-3.ffee00-delete", "deep"), { recursive: true });
    // A metadata write that crashed before its rename.
    fs.writeFileSync(path.join(data, "live.topic.json.123abc.tmp"), "{partial");
    const again = open(data);
    expect(again.list()).toEqual(["live"]);
    expect(fs.readdirSync(data).sort()).toEqual(["live-0", "live-1", "live.topic.json"]);
  });

  it("refuses corrupt metadata with a message naming the file and what to do", () => {
    const { data } = dirs();
    fs.mkdirSync(data, { recursive: true });
    fs.writeFileSync(path.join(data, "t.topic.json"), "{oops");
    expect(() => TopicRegistry.open(data)).toThrow(
      /t\.topic\.json is not valid JSON.*restore the file/,
    );
    fs.writeFileSync(
      path.join(data, "t.topic.json"),
      JSON.stringify({ name: "other", partitions: 1 }),
    );
    expect(() => TopicRegistry.open(data)).toThrow(/names topic "other", not 't'/);
  });

  it("after SIGKILLs during creates and deletes, every topic is whole or absent", async () => {
    const { parent, data } = dirs();
    // The child churns topics until it is killed; a script file of the test's own.
    const script = path.join(parent, "churn.mts");
    const registryUrl = new URL("../src/storage/topic-registry.js", import.meta.url).href;
    fs.writeFileSync(
      script,
      `import { TopicRegistry } from ${JSON.stringify(registryUrl)};
const [dir, prefix] = [process.argv[2], process.argv[3]];
const r = TopicRegistry.open(dir);
for (let i = 0; ; i++) {
  r.create(prefix + i, { partitions: 1 + (i % 4) });
  if (i >= 2) await r.delete(prefix + (i - 2));
  if (i === 20) process.stdout.write("churning\\n");
}
`,
    );
    // Each round opens what the last one left (so open's cleanup runs in the child too).
    for (const round of ["a", "b", "c"]) {
      const child = runFixture(script, [data, round]);
      cleanups.push(() => child.kill());
      expect(await child.firstLine).toBe("churning");
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(Math.random() * 250)));
      await child.kill("SIGKILL");
    }

    const r = open(data);
    const topics = r.list();
    expect(topics.length).toBeGreaterThan(0);
    const expected = new Set<string>();
    for (const t of topics) {
      const { partitions } = r.get(t);
      expect(partitions).toBe(1 + (Number(t.slice(1)) % 4));
      for (let p = 0; p < partitions; p++) {
        expect(fs.statSync(path.join(data, `${t}-${p}`)).isDirectory()).toBe(true);
        expected.add(`${t}-${p}`);
      }
      expected.add(`${t}.topic.json`);
    }
    // Nothing else: no half topic, no -delete directory or marker, no temp file.
    expect(fs.readdirSync(data).sort()).toEqual([...expected].sort());
  });
});
