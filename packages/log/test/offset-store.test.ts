import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CorruptRecordError, InvalidArgumentError } from "../src/errors.js";
import {
  decodeOffsetKey,
  decodeOffsetValue,
  encodeOffsetKey,
  encodeOffsetValue,
  MAX_OFFSET_METADATA_BYTES,
  OffsetStore,
} from "../src/groups/offset-store.js";
import { PartitionLog } from "../src/storage/partition-log.js";
import { PartitionLogOffsetJournal } from "../src/storage/partition-log-offset-journal.js";
import { resolveTopicConfig } from "../src/topic-config.js";
import { ArrayOffsetJournal } from "./group-helpers.js";

describe("offset record format", () => {
  it("round-trips keys and values, including unicode and absent metadata", () => {
    const key = encodeOffsetKey("grüppe ✓", "orders.v2", 2_000_000_000);
    expect(decodeOffsetKey(key)).toEqual({
      groupId: "grüppe ✓",
      topic: "orders.v2",
      partition: 2_000_000_000,
    });
    expect(decodeOffsetValue(encodeOffsetValue(2 ** 40 + 3, "ckpt:é", 1_700_000_000_123))).toEqual({
      offset: 2 ** 40 + 3,
      metadata: "ckpt:é",
      commitTimestamp: 1_700_000_000_123,
    });
    expect(decodeOffsetValue(encodeOffsetValue(0, undefined, 5))).toEqual({
      offset: 0,
      commitTimestamp: 5,
    });
    expect(decodeOffsetValue(encodeOffsetValue(7, "", 5)).metadata).toBe("");
  });

  it("skips keys of other versions and refuses malformed ones", () => {
    const other = Buffer.from([0, 2, 1, 2, 3]);
    expect(decodeOffsetKey(other)).toBeUndefined();
    const key = encodeOffsetKey("g", "t", 0);
    expect(() => decodeOffsetKey(key.subarray(0, key.length - 1))).toThrow(CorruptRecordError);
    const value = encodeOffsetValue(1, "m", 2);
    expect(() => decodeOffsetValue(value.subarray(0, value.length - 1))).toThrow(
      CorruptRecordError,
    );
  });
});

describe("offset store", () => {
  it("keeps the newest commit per partition and sees it again after a restart", async () => {
    const journal = new ArrayOffsetJournal();
    const store = new OffsetStore(journal);
    await store.commit(
      "g",
      [
        { topic: "t", partition: 0, offset: 5 },
        { topic: "t", partition: 1, offset: 7, metadata: "m" },
      ],
      1000,
    );
    await store.commit("g", [{ topic: "t", partition: 0, offset: 9 }], 2000);
    await store.commit("h", [{ topic: "u", partition: 0, offset: 1 }], 3000);
    expect(journal.appends).toBe(3);

    const expected = [
      { topic: "t", partition: 0, offset: 9, commitTimestamp: 2000 },
      { topic: "t", partition: 1, offset: 7, metadata: "m", commitTimestamp: 1000 },
    ];
    expect(store.fetch("g")).toEqual(expected);
    const reopened = new OffsetStore(journal);
    expect(reopened.fetch("g")).toEqual(expected);
    expect(reopened.fetch("g", ["u"])).toEqual([]);
    expect(reopened.fetch("h", ["u"])).toEqual([
      { topic: "u", partition: 0, offset: 1, commitTimestamp: 3000 },
    ]);
    expect(reopened.groupIds()).toEqual(["g", "h"]);
    expect(reopened.topics("g")).toEqual(["t"]);
  });

  it("deletes a group with one tombstone per key, which a restart honours", async () => {
    const journal = new ArrayOffsetJournal();
    const store = new OffsetStore(journal);
    await store.commit(
      "g",
      [
        { topic: "t", partition: 0, offset: 5 },
        { topic: "t", partition: 1, offset: 6 },
      ],
      1,
    );
    await store.commit("keep", [{ topic: "t", partition: 0, offset: 3 }], 1);
    await store.deleteGroup("g");
    const tombstones = journal.records.filter((r) => r.value === null);
    expect(tombstones.map((r) => decodeOffsetKey(r.key!))).toEqual([
      { groupId: "g", topic: "t", partition: 0 },
      { groupId: "g", topic: "t", partition: 1 },
    ]);
    expect(store.hasGroup("g")).toBe(false);
    const reopened = new OffsetStore(journal);
    expect(reopened.hasGroup("g")).toBe(false);
    expect(reopened.groupIds()).toEqual(["keep"]);

    await reopened.commit("g", [{ topic: "t", partition: 0, offset: 1 }], 2);
    expect(new OffsetStore(journal).fetch("g")).toEqual([
      { topic: "t", partition: 0, offset: 1, commitTimestamp: 2 },
    ]);
  });

  it("does not show a commit whose append failed", async () => {
    const journal = new ArrayOffsetJournal();
    const store = new OffsetStore(journal);
    await store.commit("g", [{ topic: "t", partition: 0, offset: 5 }], 1);
    journal.append = async () => {
      throw new Error("disk full");
    };
    await expect(store.commit("g", [{ topic: "t", partition: 0, offset: 6 }], 2)).rejects.toThrow(
      "disk full",
    );
    expect(store.committed("g", "t", 0)?.offset).toBe(5);
  });

  it("keeps the later of two overlapping commits even when the earlier append finishes last", async () => {
    const journal = new ArrayOffsetJournal();
    const releases: (() => void)[] = [];
    const append = journal.append.bind(journal);
    journal.append = async (records) => {
      await append(records);
      await new Promise<void>((r) => releases.push(r));
    };
    const store = new OffsetStore(journal);
    const first = store.commit("g", [{ topic: "t", partition: 0, offset: 1 }], 1);
    const second = store.commit("g", [{ topic: "t", partition: 0, offset: 2 }], 2);
    await new Promise((r) => setImmediate(r));
    releases[1]!();
    await second;
    releases[0]!();
    await first;
    expect(store.committed("g", "t", 0)?.offset).toBe(2);
    expect(new OffsetStore(journal).committed("g", "t", 0)?.offset).toBe(2);
  });

  it("refuses offsets that cannot be committed, writing nothing", async () => {
    const journal = new ArrayOffsetJournal();
    const store = new OffsetStore(journal);
    const bad = [
      { topic: "t", partition: 0, offset: -1 },
      { topic: "t", partition: -1, offset: 0 },
      { topic: "t", partition: 0.5, offset: 0 },
      { topic: "", partition: 0, offset: 0 },
      { topic: "t", partition: 0, offset: 1.5 },
      { topic: "t", partition: 0, offset: 0, metadata: "x".repeat(MAX_OFFSET_METADATA_BYTES + 1) },
    ];
    for (const o of bad) {
      await expect(
        store.commit("g", [{ topic: "t", partition: 1, offset: 1 }, o], 1),
      ).rejects.toThrow(InvalidArgumentError);
    }
    expect(journal.records).toEqual([]);
    expect(store.hasGroup("g")).toBe(false);
  });

  it("fails to load a journal holding a corrupt offset value, naming the record", async () => {
    const journal = new ArrayOffsetJournal();
    await journal.append([{ key: encodeOffsetKey("g", "t", 0), value: Buffer.from([0, 1, 2]) }]);
    expect(() => new OffsetStore(journal)).toThrow(/__consumer_offsets record 0/);
  });
});

describe("offset store over a real __consumer_offsets partition log", () => {
  it("keeps commits and deletions across closing and reopening the log", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-offsets-"));
    const config = resolveTopicConfig({ cleanupPolicy: "compact", flushPolicy: "always" });
    const openLog = () =>
      PartitionLog.open(path.join(dir, "__consumer_offsets-0"), {
        topic: "__consumer_offsets",
        partition: 0,
        config,
      });
    try {
      let log = openLog();
      let store = new OffsetStore(new PartitionLogOffsetJournal(log));
      await store.commit(
        "g",
        [
          { topic: "t", partition: 0, offset: 5, metadata: "m" },
          { topic: "t", partition: 1, offset: 6 },
        ],
        10,
      );
      await store.commit("g", [{ topic: "t", partition: 0, offset: 8 }], 20);
      await store.commit("gone", [{ topic: "t", partition: 0, offset: 1 }], 30);
      await store.deleteGroup("gone");
      await log.close();

      log = openLog();
      store = new OffsetStore(new PartitionLogOffsetJournal(log));
      expect(store.groupIds()).toEqual(["g"]);
      expect(store.fetch("g")).toEqual([
        { topic: "t", partition: 0, offset: 8, commitTimestamp: 20 },
        { topic: "t", partition: 1, offset: 6, commitTimestamp: 10 },
      ]);
      await log.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

describe("committed offsets and a crash", () => {
  it("keeps every acknowledged commit when the committing process is SIGKILLed", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-offsets-crash-"));
    const logDir = path.join(dir, "__consumer_offsets-0");
    // The child commits offset 1, 2, 3, … for t-0 and prints each once commit() resolved.
    const child = path.join(dir, "committer.mts");
    fs.writeFileSync(
      child,
      `import { PartitionLog } from ${JSON.stringify(`${SRC}storage/partition-log.js`)};
import { PartitionLogOffsetJournal } from ${JSON.stringify(`${SRC}storage/partition-log-offset-journal.js`)};
import { OffsetStore } from ${JSON.stringify(`${SRC}groups/offset-store.js`)};
import { resolveTopicConfig } from ${JSON.stringify(`${SRC}topic-config.js`)};
const log = PartitionLog.open(${JSON.stringify(logDir)}, {
  topic: "__consumer_offsets", partition: 0,
  config: resolveTopicConfig({ cleanupPolicy: "compact", flushPolicy: "always" }),
});
const store = new OffsetStore(new PartitionLogOffsetJournal(log));
for (let i = 1; ; i++) {
  await store.commit("g", [{ topic: "t", partition: 0, offset: i }], i);
  process.stdout.write(i + "\\n");
}
`,
    );
    try {
      const proc = spawn(process.execPath, ["--import", "tsx", child], {
        cwd: path.resolve(SRC, "../../.."),
        stdio: ["ignore", "pipe", "inherit"],
      });
      let acked = 0;
      let out = "";
      await new Promise<void>((resolve, reject) => {
        proc.on("error", reject);
        proc.on("exit", (code) => reject(new Error(`committer exited early with ${code}`)));
        proc.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const lines = out.split("\n");
          out = lines.pop()!;
          if (lines.length > 0) acked = Number(lines.at(-1));
          if (acked >= 50) resolve();
        });
      });
      proc.removeAllListeners("exit");
      const exited = new Promise((r) => proc.on("exit", r));
      proc.kill("SIGKILL");
      await exited;
      // Lines read after the kill signal may still arrive: the last one counts.
      for (const line of out.split("\n")) if (line !== "") acked = Math.max(acked, Number(line));

      const log = PartitionLog.open(logDir, {
        topic: "__consumer_offsets",
        partition: 0,
        config: resolveTopicConfig({ cleanupPolicy: "compact", flushPolicy: "always" }),
      });
      const store = new OffsetStore(new PartitionLogOffsetJournal(log));
      const committed = store.committed("g", "t", 0)!.offset;
      expect(committed).toBeGreaterThanOrEqual(acked);
      await log.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
