import fs from "node:fs";
import path from "node:path";
import { errnoOf } from "../errors.js";

export const RESERVE_FILE = ".reserve";
export const DEFAULT_RESERVE_BYTES = 1024 * 1024;
const WRITE_CHUNK = 64 * 1024;

/**
 * `<data>/.reserve`: zero bytes the log keeps on its data directory's file system so that
 * it can still start when the disk is full (the idea of CockroachDB's emergency ballast).
 * Starting writes a little: the lock file, each partition's checkpoint, broker.json,
 * consumer groups' commits. When those meet ENOSPC, the log deletes the reserve, starts
 * read-only (reads and group commits work, produce gets a retriable DISK_FULL), and writes
 * the reserve back, and takes produce again, once the file system has room for it and as
 * much again.
 *
 *   .reserve => `bytes` zero bytes, written and fsynced; a shorter file is a reserve
 *               whose writing was cut short, and is replaced.
 */
export class DiskReserve {
  constructor(
    readonly dataDir: string,
    readonly bytes: number,
  ) {}

  get path(): string {
    return path.join(this.dataDir, RESERVE_FILE);
  }

  /** Deletes the reserve, freeing its space; false when there was none. */
  release(): boolean {
    if (!fs.existsSync(this.path)) return false;
    fs.rmSync(this.path, { force: true });
    return true;
  }

  /** True when the reserve is on disk, whole. */
  get present(): boolean {
    try {
      return fs.statSync(this.path).size >= this.bytes;
    } catch {
      return false;
    }
  }

  /** Free bytes of the file system holding the data directory. */
  freeBytes(): number {
    const s = fs.statfsSync(this.dataDir);
    return s.bavail * s.bsize;
  }

  /**
   * Writes the reserve if it is missing and the disk has room for it and as much again
   * (so writing it never fills the disk). Returns whether it is now present; a write that
   * fails for lack of room or descriptors removes what it wrote and returns false.
   */
  ensure(): boolean {
    if (this.bytes <= 0 || this.present) return true;
    if (this.freeBytes() < 2 * this.bytes) return false;
    const tmp = `${this.path}.tmp`;
    try {
      const fd = fs.openSync(tmp, "w");
      try {
        const zeros = Buffer.alloc(Math.min(WRITE_CHUNK, this.bytes));
        for (let done = 0; done < this.bytes; ) {
          done += fs.writeSync(fd, zeros, 0, Math.min(zeros.length, this.bytes - done), done);
        }
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.path);
      return true;
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      if (errnoOf(err) === undefined) throw err;
      return false;
    }
  }
}
