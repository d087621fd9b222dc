import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openEmbeddedLog } from "@tributary/log";
import { firstValueFrom, take, toArray } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { defineApp, observeTopic, type StoreChange } from "../src/index.js";
import { TopologyTestDriver } from "../src/testing/index.js";
import { str } from "./helpers.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("RxJS bridge", () => {
  it("observeTopic emits a real log's records, decoded, from the earliest offset", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "streams-rx-"));
    dirs.push(dir);
    const client = await openEmbeddedLog(dir, { maintenanceIntervalMs: 0 });
    try {
      await client.admin.createTopic("events", { partitions: 2 });
      const producer = client.producer();
      await producer.send(
        "events",
        ["a", "b", "c", "d"].map((k, i) => ({ key: Buffer.from(k), value: Buffer.from(`v${i}`) })),
      );
      const got = await firstValueFrom(
        observeTopic<string, string>(client, "events", {
          keySerde: str,
          valueSerde: str,
          from: "earliest",
        }).pipe(take(4), toArray()),
      );
      expect(got.map((r) => `${r.key}=${r.value}`).sort()).toEqual([
        "a=v0",
        "b=v1",
        "c=v2",
        "d=v3",
      ]);
      for (const r of got) expect(r.topic).toBe("events");
      await producer.close();
    } finally {
      await client.close();
    }
  });

  it("storeChanges$ reports each store change with old and new value", () => {
    const app = defineApp({
      applicationId: "rx",
      topology: (b) => {
        b.stream<string, string>("in", { keySerde: str, valueSerde: str })
          .groupByKey()
          .count({ storeName: "c" });
      },
    });
    const driver = new TopologyTestDriver(app);
    const changes: StoreChange<string, number>[] = [];
    const sub = driver.storeChanges$<string, number>("c").subscribe((c) => changes.push(c));
    const input = driver.createInputTopic<string, string>("in");
    input.pipeInput("k", "x");
    input.pipeInput("k", "y");
    sub.unsubscribe();
    input.pipeInput("k", "z");
    expect(changes).toEqual([
      { store: "c", key: "k", newValue: 1, oldValue: null },
      { store: "c", key: "k", newValue: 2, oldValue: 1 },
    ]);
    driver.close();
  });
});
