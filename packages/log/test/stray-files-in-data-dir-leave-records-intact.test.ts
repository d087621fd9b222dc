import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openEmbeddedLog } from "../src/embedded-log.js";
import { CorruptRecordError } from "../src/errors.js";
import type { LogClient } from "../src/client/log-client.js";
import { removeTempDirs, tempDir } from "./storage-helpers.js";

const TOPIC = "cl";

/** Three sends of ten records to partition 0 of a 2-partition topic, then a clean close. */
async function writeHistory(): Promise<string> {
  const dir = tempDir("tributary-stray-");
  const log = await openEmbeddedLog(dir, { maintenanceIntervalMs: 0 });
  try {
    await log.admin.createTopic(TOPIC, { partitions: 2 });
    const producer = log.producer();
    for (let s = 0; s < 3; s++) {
      await producer.send(
        TOPIC,
        Array.from({ length: 10 }, (_, i) => ({
          key: Buffer.from(`k${i}`),
          value: Buffer.from(`v${s * 10 + i}`),
          partition: 0,
        })),
      );
    }
    await producer.close();
  } finally {
    await log.close();
  }
  return dir;
}

/** The values of partition 0 in offset order, read from offset 0 up to its end. */
async function valuesOf(log: LogClient): Promise<string[]> {
  const [end] = await log.admin.listOffsets(TOPIC, "latest");
  const consumer = log.consumer({ autoOffsetReset: "earliest" });
  const tp = { topic: TOPIC, partition: 0 };
  const out: string[] = [];
  try {
    consumer.assign([tp]);
    consumer.seek(tp, 0);
    for (let polls = 0; (consumer.position(tp) ?? 0) < end!.offset && polls < 600; polls++) {
      for (const f of await consumer.poll({ maxWaitMs: 100 })) {
        for (const r of f.records) out.push(r.value!.toString());
      }
    }
  } finally {
    await consumer.close();
  }
  return out;
}

const written = Array.from({ length: 30 }, (_, i) => `v${i}`);

/**
 * Files a log directory collects besides the log's own (an operator's notes, a backup
 * directory, an editor's temp file, a directory of a partition the topic does not have)
 * and damaged side files (checkpoint, producer snapshot, offset index, which recovery
 * rebuilds from the segments): the log opens, serves every record it had, in order, and
 * appends after them.
 */
describe("stray and damaged files in a log's data directory", () => {
  afterEach(() => removeTempDirs());

  it.each<[string, (dir: string) => void]>([
    ["a file beside the topics", (d) => fs.writeFileSync(path.join(d, "notes.txt"), "hi")],
    ["a directory beside the topics", (d) => fs.mkdirSync(path.join(d, "backup"))],
    ["a partition directory of no topic", (d) => fs.mkdirSync(path.join(d, "other-0"))],
    ["a partition past the topic's count", (d) => fs.mkdirSync(path.join(d, `${TOPIC}-7`))],
    [
      "a temp file in the partition",
      (d) => fs.writeFileSync(path.join(d, `${TOPIC}-0`, "x.tmp"), "junk"),
    ],
    [
      "a garbage partition.checkpoint",
      (d) => fs.writeFileSync(path.join(d, `${TOPIC}-0`, "partition.checkpoint"), "garbage"),
    ],
    [
      "a garbage producer.snapshot",
      (d) => fs.writeFileSync(path.join(d, `${TOPIC}-0`, "producer.snapshot"), "garbage"),
    ],
    [
      "a garbage offset index",
      (d) =>
        fs.writeFileSync(
          path.join(d, `${TOPIC}-0`, "00000000000000000000.index"),
          Buffer.alloc(13, 7),
        ),
    ],
  ])("keeps every record with %s", async (_, damage) => {
    const dir = await writeHistory();
    damage(dir);
    const log = await openEmbeddedLog(dir, { maintenanceIntervalMs: 0 });
    try {
      expect(await valuesOf(log)).toEqual(written);
      const producer = log.producer();
      const [ack] = await producer.send(TOPIC, [
        { key: Buffer.from("z"), value: Buffer.from("v30"), partition: 0 },
      ]);
      await producer.close();
      expect(ack!.baseOffset).toBe(30);
      expect(await valuesOf(log)).toEqual([...written, "v30"]);
    } finally {
      await log.close();
    }
  });

  it("refuses to open when a file stands where a partition's directory belongs, naming it", async () => {
    const dir = await writeHistory();
    const partitionDir = path.join(dir, `${TOPIC}-1`);
    fs.rmSync(partitionDir, { recursive: true });
    fs.writeFileSync(partitionDir, "not a directory");
    const error = await openEmbeddedLog(dir, { maintenanceIntervalMs: 0 }).then(
      async (log) => {
        await log.close();
        return "opened";
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect((error as CorruptRecordError).code).toBe("CORRUPT_RECORD");
    expect((error as Error).message).toContain(`partition 1 of topic '${TOPIC}'`);
    expect((error as Error).message).toContain(partitionDir);
  });
});
