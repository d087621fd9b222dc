import fs from "node:fs";
import path from "node:path";
import { crc32c } from "@node-rs/crc32";

export const CHECKPOINT_FILE = "partition.checkpoint";

export interface PartitionCheckpoint {
  /** Every batch below this offset is flushed, verified and indexed on disk. */
  recoveryPoint: number;
  /** The first offset the log holds; moved up by retention. */
  logStartOffset: number;
}

/** What reading the checkpoint found: the checkpoint, or why there is none to trust. */
export type CheckpointRead =
  | { checkpoint: PartitionCheckpoint; problem: null }
  | { checkpoint: null; problem: string | null };

/*
 * PartitionCheckpoint file "partition.checkpoint" (UTF-8 text, replaced atomically:
 * written to "partition.checkpoint.tmp", fsynced, renamed over the old one) =>
 *   "tributary-partition-checkpoint 2" LF
 *   "recovery-point " decimal LF
 *   "log-start-offset " decimal LF
 *   "crc32c " decimal LF        CRC-32C of every byte before this line
 * Version 1 (no crc32c line) is still read.
 */
function encodeCheckpoint(checkpoint: PartitionCheckpoint): string {
  const body = `tributary-partition-checkpoint 2\nrecovery-point ${checkpoint.recoveryPoint}\nlog-start-offset ${checkpoint.logStartOffset}\n`;
  return `${body}crc32c ${crc32c(Buffer.from(body))}\n`;
}

export function writeCheckpoint(dir: string, checkpoint: PartitionCheckpoint): void {
  const target = path.join(dir, CHECKPOINT_FILE);
  const fd = fs.openSync(`${target}.tmp`, "w");
  try {
    fs.writeSync(fd, encodeCheckpoint(checkpoint));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(`${target}.tmp`, target);
}

/** writeCheckpoint with its fsync off the event loop (a closing broker overlaps them). */
export async function writeCheckpointAsync(
  dir: string,
  checkpoint: PartitionCheckpoint,
): Promise<void> {
  const target = path.join(dir, CHECKPOINT_FILE);
  const file = await fs.promises.open(`${target}.tmp`, "w");
  try {
    await file.writeFile(encodeCheckpoint(checkpoint));
    await file.sync();
  } finally {
    await file.close();
  }
  fs.renameSync(`${target}.tmp`, target);
}

/**
 * The checkpoint; `checkpoint: null` with no problem when there is none yet, and with the
 * problem when the file is malformed or fails its CRC (then nothing in it is trusted: the
 * caller re-verifies every segment, which never loses intact data).
 */
export function readCheckpoint(dir: string): CheckpointRead {
  const file = path.join(dir, CHECKPOINT_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, "latin1");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      return { checkpoint: null, problem: null };
    throw err;
  }
  const v2 =
    /^(tributary-partition-checkpoint 2\nrecovery-point (\d+)\nlog-start-offset (\d+)\n)crc32c (\d+)\n$/.exec(
      text,
    );
  if (v2 !== null) {
    if (crc32c(Buffer.from(v2[1]!, "latin1")) !== Number(v2[4])) {
      return { checkpoint: null, problem: `partition checkpoint ${file} fails its CRC` };
    }
    return { checkpoint: parsed(v2[2]!, v2[3]!), problem: null };
  }
  const v1 =
    /^tributary-partition-checkpoint 1\nrecovery-point (\d+)\nlog-start-offset (\d+)\n$/.exec(text);
  if (v1 !== null) return { checkpoint: parsed(v1[1]!, v1[2]!), problem: null };
  return { checkpoint: null, problem: `partition checkpoint ${file} is malformed` };
}

function parsed(recoveryPoint: string, logStartOffset: string): PartitionCheckpoint {
  return { recoveryPoint: Number(recoveryPoint), logStartOffset: Number(logStartOffset) };
}
