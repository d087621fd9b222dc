import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

const fsyncAsync = promisify(fs.fsync);

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

/**
 * fsyncs the file (or directory) at `p`; throws what the fsync throws (the log's storage
 * needs to see ENOSPC and EIO).
 */
export function fsyncPath(p: string): void {
  const fd = fs.openSync(p, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsyncPath off the event loop. */
export async function fsyncPathAsync(p: string): Promise<void> {
  const fd = fs.openSync(p, "r");
  try {
    await fsyncAsync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Makes the directory's entries (a rename, a new or deleted file) durable (see fsyncPath). */
export function syncDirectory(dir: string): void {
  fsyncPath(dir);
}

/** syncDirectory off the event loop. */
export function syncDirectoryAsync(dir: string): Promise<void> {
  return fsyncPathAsync(dir);
}

/** syncDirectory for metadata files, where a platform that cannot fsync a directory is fine. */
export function fsyncDir(dir: string): void {
  try {
    syncDirectory(dir);
  } catch {
    // Not every platform can fsync a directory; rename is still atomic there.
  }
}
