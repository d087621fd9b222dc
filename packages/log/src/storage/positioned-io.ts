import fs from "node:fs";

/** Positioned writes and reads that finish what a short write or read left undone. */

export function writeFully(
  fd: number,
  buf: Buffer,
  offset: number,
  length: number,
  position: number,
): void {
  let done = 0;
  while (done < length) {
    done += fs.writeSync(fd, buf, offset + done, length - done, position + done);
  }
}

export function readFullyAt(fd: number, buf: Buffer, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
