import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fsyncDir } from "./durable-file.js";
import { DataDirLockedError, TributaryError } from "../errors.js";

/** Who holds a data directory. */
export interface LockHolder {
  pid: number;
  hostname: string;
  command: string;
  /** ISO-8601 time the lock was taken. */
  since: string;
  /** Linux /proc start time of the holder, to tell a reused pid from the holder itself. */
  startTime?: string;
  /** Random per acquisition: lets the holder recognise its own lock file. */
  token: string;
}

export const LOCK_FILE = ".lock";
const TAKEOVER_FILE = ".lock.takeover";

/**
 * DirLock keeps two processes from opening one data directory for writing.
 *
 * The lock is the file `<data>/.lock` naming its holder. It is created complete and
 * atomically: written to a temp file, fsynced, then hard-linked to `.lock` (link fails
 * with EEXIST where the name exists, so no reader ever sees a half-written lock, and
 * exactly one creator wins).
 *
 * A lock whose holder is gone (SIGKILL, power loss) is stale and is taken over: a holder
 * is gone when its pid does not exist, is a zombie, or is a different process that
 * reused the pid (its /proc start time differs). Takeover runs under a second lock file,
 * `.lock.takeover`, itself created with link, so two processes finding the same stale
 * lock cannot both win; the takeover file is held for a few system calls and, if its
 * own holder died, is removed the same way. A lock held from another host (a shared
 * file system) is never taken over: we cannot see that host's processes.
 *
 * Not re-entrant: acquiring a directory this process already holds fails, as it would
 * for another process.
 */
export class DirLock {
  private released = false;

  private constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {}

  /** Takes the lock on `dataDir` (created if missing) or throws DataDirLockedError. */
  static acquire(dataDir: string): DirLock {
    const dir = path.resolve(dataDir);
    fs.mkdirSync(dir, { recursive: true });
    const lockPath = path.join(dir, LOCK_FILE);
    const me = ownHolder();
    // A bounded number of rounds: each lost round means another process changed the lock
    // between our read and our write, so the next round sees its new state.
    for (let round = 0; round < 50; round++) {
      if (createExclusive(dir, lockPath, me)) {
        fsyncDir(dir);
        return new DirLock(dir, me);
      }
      const seen = readLockFile(lockPath);
      if (seen === undefined) continue; // released between our create and our read
      const holder = parseHolder(seen);
      if (holder !== undefined && holderState(holder) !== "gone") {
        throw new DataDirLockedError(dir, describeHolder(holder));
      }
      if (takeOver(dir, lockPath, seen, me)) return new DirLock(dir, me);
      sleepMs(2 + round);
    }
    throw new TributaryError(
      "DATA_DIR_LOCKED",
      `could not take the lock on ${dir}: other processes keep changing ${lockPath}; retry, and check which processes open this directory`,
      { retriable: true },
    );
  }

  /** The current holder of `dataDir`'s lock, live or stale, or undefined when unlocked. */
  static readHolder(dataDir: string): LockHolder | undefined {
    const raw = readLockFile(path.join(path.resolve(dataDir), LOCK_FILE));
    return raw === undefined ? undefined : parseHolder(raw);
  }

  /** True while the lock file on disk is still ours. */
  isHeld(): boolean {
    return !this.released && this.isHeldOnDisk();
  }

  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.isHeldOnDisk()) {
      fs.rmSync(path.join(this.dataDir, LOCK_FILE), { force: true });
      fsyncDir(this.dataDir);
    }
  }

  private isHeldOnDisk(): boolean {
    const raw = readLockFile(path.join(this.dataDir, LOCK_FILE));
    return raw !== undefined && parseHolder(raw)?.token === this.holder.token;
  }
}

/** Whether a holder is this host's live process, or gone; "remote" when we cannot tell. */
export function holderState(h: LockHolder): "alive" | "gone" | "remote" {
  if (h.hostname !== os.hostname()) return "remote";
  if (!pidExists(h.pid)) return "gone";
  const stat = procStat(h.pid);
  if (stat !== undefined) {
    if (stat.state === "Z" || stat.state === "X") return "gone";
    if (h.startTime !== undefined && stat.startTime !== h.startTime) return "gone";
  }
  return "alive";
}

function describeHolder(h: LockHolder): string {
  const cmd = h.command.length > 200 ? `${h.command.slice(0, 200)}…` : h.command;
  return `pid ${h.pid} on ${h.hostname} (${cmd}) since ${h.since}`;
}

/*
 * Lock file format: one JSON object, UTF-8.
 *   .lock => { "pid": int, "hostname": string, "command": string, "since": ISO-8601,
 *              "startTime"?: string, "token": hex string }
 * The takeover file has the same format.
 */
function encodeHolder(h: LockHolder): string {
  return `${JSON.stringify(h)}\n`;
}

function parseHolder(raw: string): LockHolder | undefined {
  try {
    const v = JSON.parse(raw) as Partial<LockHolder>;
    if (
      typeof v === "object" &&
      v !== null &&
      Number.isSafeInteger(v.pid) &&
      (v.pid as number) > 0 &&
      typeof v.hostname === "string" &&
      typeof v.token === "string"
    ) {
      return {
        pid: v.pid as number,
        hostname: v.hostname,
        command: typeof v.command === "string" ? v.command : "?",
        since: typeof v.since === "string" ? v.since : "?",
        ...(typeof v.startTime === "string" ? { startTime: v.startTime } : {}),
        token: v.token,
      };
    }
  } catch {
    // unparseable: treated as stale below (only a crash mid-write could leave it, and
    // writes go through a temp file, so this is a file someone else put there)
  }
  return undefined;
}

function ownHolder(): LockHolder {
  const start = procStat(process.pid)?.startTime;
  return {
    pid: process.pid,
    hostname: os.hostname(),
    command: process.argv.join(" "),
    since: new Date().toISOString(),
    ...(start !== undefined ? { startTime: start } : {}),
    token: randomBytes(8).toString("hex"),
  };
}

/** Writes `h` to a temp file and links it to `target`; false when `target` exists. */
function createExclusive(dir: string, target: string, h: LockHolder): boolean {
  const tmp = writeTemp(dir, h);
  try {
    fs.linkSync(tmp, target);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function writeTemp(dir: string, h: LockHolder): string {
  const tmp = path.join(dir, `${LOCK_FILE}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fd = fs.openSync(tmp, "wx", 0o644);
  try {
    fs.writeSync(fd, encodeHolder(h));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return tmp;
}

/**
 * Replaces the stale lock whose content was `stale` with ours, under the takeover lock.
 * False when someone else got there first (the caller re-reads and decides again).
 */
function takeOver(dir: string, lockPath: string, stale: string, me: LockHolder): boolean {
  const takeoverPath = path.join(dir, TAKEOVER_FILE);
  if (!createExclusive(dir, takeoverPath, me)) {
    const raw = readLockFile(takeoverPath);
    const t = raw === undefined ? undefined : parseHolder(raw);
    // Its holder died inside the takeover: clear it and let the next round try again.
    if (raw !== undefined && (t === undefined || holderState(t) === "gone")) {
      if (readLockFile(takeoverPath) === raw) fs.rmSync(takeoverPath, { force: true });
    }
    return false;
  }
  try {
    // Under the takeover lock nobody else replaces .lock, so if it still holds the stale
    // content we read, replacing it cannot overwrite a live holder's lock.
    if (readLockFile(lockPath) !== stale) return false;
    const tmp = writeTemp(dir, me);
    fs.renameSync(tmp, lockPath);
    fsyncDir(dir);
    return parseHolder(readLockFile(lockPath) ?? "")?.token === me.token;
  } finally {
    fs.rmSync(takeoverPath, { force: true });
  }
}

function readLockFile(p: string): string | undefined {
  try {
    return fs.readFileSync(p, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, it is just not ours to signal.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** State and start time (clock ticks since boot) from /proc/<pid>/stat, Linux only. */
function procStat(pid: number): { state: string; startTime: string } | undefined {
  let s: string;
  try {
    s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so cut at the last ')'.
  const fields = s.slice(s.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const startTime = fields[19];
  if (state === undefined || startTime === undefined) return undefined;
  return { state, startTime };
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
