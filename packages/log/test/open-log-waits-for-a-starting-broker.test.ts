import { afterEach, describe, expect, it } from "vitest";
import { writeBrokerInfo } from "../src/broker/broker-info.js";
import { DataDirLockedError } from "../src/errors.js";
import { openLog } from "../src/open-log.js";
import { startBrokerProcess } from "../src/testing/index.js";
import { type Fixture, runFixture, tempDir } from "./registry-helpers.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dataDir(): string {
  const t = tempDir("tributary-announce-");
  cleanups.push(t.cleanup);
  return t.dir;
}

async function lockHolder(dir: string): Promise<Fixture> {
  const f = runFixture("lock-holder.ts", [dir]);
  cleanups.push(() => f.kill());
  expect(await f.firstLine).toMatch(/^locked \d+$/);
  return f;
}

// A broker holds its directory's lock while it opens every partition, before it writes
// broker.json: `tributary groups describe` started right after `tributary run` (which
// starts a broker for its workers) found the lock and no broker.json, and failed.
describe("opening a data directory that a starting broker holds", () => {
  it("waits for the holder to announce its broker in broker.json, then connects to it", async () => {
    const dir = dataDir();
    await lockHolder(dir);
    // A real broker elsewhere stands for the one the holder is starting.
    const broker = await startBrokerProcess(dataDir());
    cleanups.push(async () => {
      broker.proc.kill("SIGTERM");
      await broker.proc.exited;
    });
    // openLog looks for broker.json before it returns (none yet), then meets the lock.
    const opening = openLog({ dataDir: dir, brokerAnnounceWaitMs: 60_000 });
    writeBrokerInfo(dir, {
      address: broker.address,
      pid: broker.proc.pid,
      startedAt: new Date().toISOString(),
    });
    const log = await opening;
    try {
      await log.admin.createTopic("through-the-broker", { partitions: 1 });
      expect(await log.admin.listTopics()).toContain("through-the-broker");
    } finally {
      await log.close();
    }
  });

  it("opens the directory itself once the holder goes away without announcing a broker", async () => {
    const dir = dataDir();
    const holder = await lockHolder(dir);
    const opening = openLog({ dataDir: dir, brokerAnnounceWaitMs: 60_000 });
    await holder.kill("SIGKILL");
    const log = await opening;
    try {
      await log.admin.createTopic("in-process", { partitions: 1 });
      expect(await log.admin.listTopics()).toContain("in-process");
    } finally {
      await log.close();
    }
  });

  it("fails with DATA_DIR_LOCKED naming the holder when it announces nothing in time", async () => {
    const dir = dataDir();
    await lockHolder(dir);
    const err = await openLog({ dataDir: dir, brokerAnnounceWaitMs: 500 }).catch((e) => e);
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect((err as DataDirLockedError).message).toContain("lock-holder.ts");
  });
});
