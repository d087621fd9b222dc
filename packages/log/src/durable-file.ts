import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/**
 * Replaces `file` with `text` so that a crash at any point leaves either the old file or
 * the new one, never a mix: write a temp file beside it, fsync it, rename it over the
 * target, fsync the directory (which makes the rename itself durable).
 */
export function writeFileDurably(file: string, text: string, mode = 0o600): void {
  const dir = path.dirname(file);
  const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = fs.openSync(tmp, "wx", mode);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  fsyncDir(dir);
}

/** Makes the directory's entries (a rename, a new or deleted file) durable. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Not every platform can fsync a directory; rename is still atomic there.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
