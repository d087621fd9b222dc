import type { Logger } from "pino";
import { errnoOf, StorageError } from "../errors.js";
import { DirLock } from "./dir-lock.js";
import type { DiskReserve } from "./disk-reserve.js";

/**
 * Takes the data directory's lock. On a full disk (less free than the reserve holds, or
 * no room for the lock file) it first releases the disk reserve, so that starting can
 * write what it must, and says so with `diskFull`: the log then starts read-only.
 */
export function lockOnFullDisk(
  dir: string,
  reserve: DiskReserve,
  logger: Logger,
): { lock: DirLock; diskFull: boolean } {
  const giveUpReserve = (): boolean => {
    if (!reserve.release()) return false;
    logger.warn(
      { event: "disk-full-start", dataDir: dir, freeBytes: reserve.freeBytes() },
      `the disk holding ${dir} is full: released ${reserve.path} to start; produce is refused until there is room again`,
    );
    return true;
  };
  let diskFull = reserve.present && reserve.freeBytes() < reserve.bytes && giveUpReserve();
  try {
    return { lock: DirLock.acquire(dir), diskFull };
  } catch (err) {
    if (errnoOf(err) !== "ENOSPC" && errnoOf(err) !== "EDQUOT") throw err;
    if (!giveUpReserve()) {
      throw new StorageError(
        `cannot start the log at ${dir}: its disk is full (no room for the lock file) and there is no ${reserve.path} to give up: free space on its file system and start again`,
        err,
      );
    }
    diskFull = true;
    return { lock: DirLock.acquire(dir), diskFull };
  }
}
