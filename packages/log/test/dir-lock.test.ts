import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DirLock, LOCK_FILE } from "../src/storage/dir-lock.js";
import { DataDirLockedError } from "../src/errors.js";
import { type Fixture, runFixture, tempDir } from "./registry-helpers.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dataDir(): string {
  const t = tempDir("tributary-lock-");
  cleanups.push(t.cleanup);
  return t.dir;
}

function holder(dir: string): Fixture {
  const f = runFixture("lock-holder.ts", [dir]);
  cleanups.push(() => f.kill());
  return f;
}

function lockError(dir: string): DataDirLockedError {
  try {
    DirLock.acquire(dir).release();
  } catch (e) {
    expect(e).toBeInstanceOf(DataDirLockedError);
    return e as DataDirLockedError;
  }
  throw new Error("expected the lock to be refused");
}

/** A lock file as another holder would have left it. */
function writeLock(dir: string, h: Record<string, unknown>): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify(h));
}

describe("the data-directory lock", () => {
  it("refuses a second process, naming the holder's pid, host, command and start", async () => {
    const dir = dataDir();
    const child = holder(dir);
    expect(await child.firstLine).toBe(`locked ${child.child.pid}`);
    const err = lockError(dir);
    expect(err.code).toBe("DATA_DIR_LOCKED");
    expect(err.message).toContain(`pid ${child.child.pid} on ${os.hostname()}`);
    expect(err.message).toContain("lock-holder.ts");
    expect(err.message).toMatch(/since \d{4}-\d\d-\d\dT/);
    expect(err.message).toContain(dir);
    expect(DirLock.readHolder(dir)?.pid).toBe(child.child.pid);
  });

  it("takes over the lock of a SIGKILLed holder", async () => {
    const dir = dataDir();
    const child = holder(dir);
    await child.firstLine;
    lockError(dir);
    await child.kill("SIGKILL");
    const lock = DirLock.acquire(dir);
    cleanups.push(() => lock.release());
    expect(lock.isHeld()).toBe(true);
    expect(DirLock.readHolder(dir)?.pid).toBe(process.pid);
    // and now a new process is refused by us
    const second = holder(dir);
    expect(await second.firstLine).toMatch(new RegExp(`^refused .*pid ${process.pid} on `));
  });

  it("release removes the lock file, and the directory can be locked again", () => {
    const dir = dataDir();
    const lock = DirLock.acquire(dir);
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(true);
    lock.release();
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    expect(lock.isHeld()).toBe(false);
    lock.release(); // idempotent
    const again = DirLock.acquire(dir);
    again.release();
    // no temp files left behind
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("refuses the same process acquiring twice", () => {
    const dir = dataDir();
    const lock = DirLock.acquire(dir);
    cleanups.push(() => lock.release());
    expect(lockError(dir).message).toContain(`pid ${process.pid}`);
    expect(lock.isHeld()).toBe(true);
  });

  it("creates a missing data directory", () => {
    const dir = path.join(dataDir(), "nested", "data");
    const lock = DirLock.acquire(dir);
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(true);
    lock.release();
  });

  it("takes over a lock whose pid no longer exists", () => {
    const dir = dataDir();
    writeLock(dir, {
      pid: 2 ** 22 + 12345,
      hostname: os.hostname(),
      command: "gone",
      since: "x",
      token: "t",
    });
    const lock = DirLock.acquire(dir);
    expect(DirLock.readHolder(dir)?.token).toBe(lock.holder.token);
    lock.release();
  });

  it.runIf(fs.existsSync("/proc/self/stat"))(
    "takes over a lock whose pid was reused by another process (start time differs)",
    () => {
      const dir = dataDir();
      // pid 1 exists, but it is not the process that wrote this lock
      writeLock(dir, {
        pid: 1,
        hostname: os.hostname(),
        command: "old",
        since: "x",
        startTime: "1",
        token: "t",
      });
      if (DirLock.readHolder(dir)?.pid !== 1) throw new Error("fixture lock not written");
      const lock = DirLock.acquire(dir);
      expect(DirLock.readHolder(dir)?.pid).toBe(process.pid);
      lock.release();
    },
  );

  it("takes over an unreadable lock file", () => {
    const dir = dataDir();
    fs.writeFileSync(path.join(dir, LOCK_FILE), "garbage{");
    const lock = DirLock.acquire(dir);
    expect(lock.isHeld()).toBe(true);
    lock.release();
  });

  it("never takes over a lock held from another host", () => {
    const dir = dataDir();
    writeLock(dir, {
      pid: 2 ** 22 + 1,
      hostname: `${os.hostname()}-elsewhere`,
      command: "tributary broker",
      since: "2026-01-01T00:00:00.000Z",
      token: "t",
    });
    expect(lockError(dir).message).toContain(`on ${os.hostname()}-elsewhere (tributary broker)`);
  });

  it("release leaves alone a lock file that is no longer ours", () => {
    const dir = dataDir();
    const lock = DirLock.acquire(dir);
    writeLock(dir, {
      pid: process.pid,
      hostname: os.hostname(),
      command: "other",
      since: "x",
      token: "theirs",
    });
    expect(lock.isHeld()).toBe(false);
    lock.release();
    expect(DirLock.readHolder(dir)?.token).toBe("theirs");
  });

  it("lets exactly one of several processes take over a stale lock", async () => {
    const dir = dataDir();
    writeLock(dir, {
      pid: 2 ** 22 + 7,
      hostname: os.hostname(),
      command: "dead",
      since: "x",
      token: "t",
    });
    const racers = [holder(dir), holder(dir), holder(dir), holder(dir)];
    const lines = await Promise.all(racers.map((r) => r.firstLine));
    const winners = lines.filter((l) => l.startsWith("locked "));
    expect(winners).toHaveLength(1);
    const winnerPid = Number(winners[0]!.split(" ")[1]);
    for (const l of lines) if (l.startsWith("refused ")) expect(l).toContain(`pid ${winnerPid} `);
    expect(DirLock.readHolder(dir)?.pid).toBe(winnerPid);
    expect(fs.readdirSync(dir)).toEqual([LOCK_FILE]);
  });
});
