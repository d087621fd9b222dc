import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type LogClient, openEmbeddedLog } from "@tributary/log";
import { Serdes, type Worker, defineApp, runWorker } from "@tributary/streams";
import { afterEach, describe, expect, it } from "vitest";
import { APP_STATUS_TOPIC, type AppStatusReader as Reader, AppStatusReader } from "../src/index.js";

/**
 * The path from a worker to the console's Apps section, without a browser: a real worker
 * (RocksDB stores, an embedded log on disk) publishes its status to _tributary_apps, the
 * console's reader shows it with its tasks and stores, and a clean stop's tombstone
 * removes it.
 */
const app = defineApp({
  applicationId: "status-app",
  topology: (b) => {
    b.stream<string, string>("lines", { keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .groupByKey()
      .count({ storeName: "totals" })
      .toStream()
      .to("totals-out", { keySerde: Serdes.string(), valueSerde: Serdes.json<number | null>() });
  },
});

let dir: string;
let log: LogClient | undefined;
let worker: Worker | undefined;
let second: Worker | undefined;
let reader: Reader | undefined;

afterEach(async () => {
  await reader?.stop();
  await worker?.stop().catch(() => {});
  await second?.stop().catch(() => {});
  await log?.close();
  fs.rmSync(dir, { recursive: true, force: true });
  reader = worker = second = log = undefined;
});

async function until<T>(what: string, check: () => T | undefined, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("app status from a worker to the console", () => {
  it("shows a running worker with its tasks, stores and topology, and removes it when it stops cleanly", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-app-status-"));
    log = await openEmbeddedLog(path.join(dir, "log"), { maintenanceIntervalMs: 0 });
    await log.admin.createTopic("lines", { partitions: 2 });
    await log.admin.createTopic("totals-out", { partitions: 2 });
    const producer = log.producer();
    await producer.send(
      "lines",
      ["a", "b", "c", "d"].map((k) => ({ key: Buffer.from(k), value: Buffer.from("x") })),
    );
    await producer.close();

    worker = runWorker(app, { log, stateDir: path.join(dir, "state") });
    await worker.start();
    reader = new AppStatusReader(log, 100);
    reader.start();

    const seen = await until("the worker's status with both tasks", () => {
      const a = reader!.view().apps.find((x) => x.applicationId === "status-app");
      return a?.members[0]?.tasks.length === 2 ? a : undefined;
    });
    expect(seen.members).toHaveLength(1);
    const member = seen.members[0]!;
    expect(member.state).toBe("running");
    expect(member.stale).toBe(false);
    expect(member.pid).toBe(process.pid);
    expect(member.tasks.map((t) => t.id).sort()).toEqual(["0_0", "0_1"]);
    for (const t of member.tasks) {
      expect(t.stores.map((s) => s.name)).toEqual(["totals"]);
      expect(t.stores[0]!.changelogTopic).toBe("status-app-totals-changelog");
    }
    expect(seen.topology.mermaid).toMatch(/^flowchart TD/);
    expect(seen.topology.mermaid).toContain('[/"lines"/]');
    expect(seen.topology.mermaid).toContain('[("totals")]');
    expect(seen.topology.text).toMatch(/Sub-topology: 0/);
    const topic = await log.admin.describeTopic(APP_STATUS_TOPIC);
    expect(topic.config.cleanupPolicy).toBe("compact");

    await worker.stop();
    await until("the tombstone of the stopped worker", () =>
      reader!.view().apps.length === 0 ? true : undefined,
    );
  });

  it("shows two workers of one process with the default client id as two members", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-app-status-"));
    log = await openEmbeddedLog(path.join(dir, "log"), { maintenanceIntervalMs: 0 });
    await log.admin.createTopic("lines", { partitions: 2 });
    await log.admin.createTopic("totals-out", { partitions: 2 });
    // Same process, same app, no clientId: both get the default `<app>-<pid>`.
    worker = runWorker(app, { log, stateDir: path.join(dir, "state-1") });
    second = runWorker(app, { log, stateDir: path.join(dir, "state-2") });
    await worker.start();
    await second.start();
    reader = new AppStatusReader(log, 100);
    reader.start();
    const seen = await until("both workers' statuses, one task each", () => {
      const a = reader!.view().apps.find((x) => x.applicationId === "status-app");
      return a?.members.length === 2 && a.members.every((m) => m.tasks.length === 1)
        ? a
        : undefined;
    });
    expect(seen.members[0]!.clientId).toBe(seen.members[1]!.clientId);
    expect(seen.members[0]!.memberId).not.toBe(seen.members[1]!.memberId);
    const tasks = seen.members.flatMap((m) => m.tasks.map((t) => t.id)).sort();
    expect(tasks).toEqual(["0_0", "0_1"]);

    // One stops cleanly: its tombstone removes it alone.
    await second.stop();
    const left = await until("one member left", () => {
      const a = reader!.view().apps.find((x) => x.applicationId === "status-app");
      // the other worker takes over the stopped one's task
      return a?.members.length === 1 && a.members[0]!.tasks.length === 2 ? a.members[0] : undefined;
    });
    expect(seen.members.map((m) => m.memberId)).toContain(left.memberId);
  });

  it("skips a record that is not an app status, counting it and naming its offset", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-app-status-"));
    log = await openEmbeddedLog(path.join(dir, "log"), { maintenanceIntervalMs: 0 });
    await log.admin.createTopic(APP_STATUS_TOPIC, { partitions: 1 });
    const producer = log.producer();
    await producer.send(APP_STATUS_TOPIC, [
      { key: Buffer.from("x/1"), value: Buffer.from("not json") },
      { key: Buffer.from("x/2"), value: Buffer.from(JSON.stringify({ v: 2 })) },
    ]);
    await producer.close();
    reader = new AppStatusReader(log, 100);
    reader.start();
    const view = await until("both records read", () => {
      const v = reader!.view();
      return v.skipped === 2 ? v : undefined;
    });
    expect(view.apps).toEqual([]);
    expect(view.error).toMatch(/offset 1 of _tributary_apps: its version is 2/);
  });
});
