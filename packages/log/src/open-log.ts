import { connectBroker } from "./broker/connect-broker.js";
import { findRunningBroker } from "./broker/broker-info.js";
import { openEmbeddedLog } from "./embedded-log.js";
import type { EmbeddedLogOptions } from "./embedded-log-service.js";
import type { LogClient } from "./client/log-client.js";
import { clientCredentials } from "./security/client-credentials.js";
import { DataDirLockedError } from "./errors.js";
import { DirLock, holderState } from "./storage/dir-lock.js";

export const DEFAULT_DATA_DIR = ".tributary";

export interface OpenLogOptions extends EmbeddedLogOptions {
  /** A broker address: connect to it instead of opening a directory. */
  broker?: string;
  /** The data directory; default ./.tributary. */
  dataDir?: string;
  /** Shared token for a broker started with --token-file. */
  token?: string;
  /**
   * How long to wait for the process holding the directory to announce its broker in
   * broker.json before failing with DATA_DIR_LOCKED (default 15 s; see below).
   */
  brokerAnnounceWaitMs?: number;
}

/**
 * The log a tool or app should use, as DESIGN.md promises: an explicit broker if given;
 * else the broker serving the data directory if one is running (its broker.json names
 * it); else the directory itself, in-process. A broker is logged into with the
 * credentials of the environment (security/client-credentials.ts).
 */
export async function openLog(options: OpenLogOptions = {}): Promise<LogClient> {
  if (options.broker !== undefined) {
    return connectBroker(options.broker, { token: options.token, ...clientCredentials() });
  }
  const dataDir = options.dataDir ?? DEFAULT_DATA_DIR;
  const running = findRunningBroker(dataDir);
  if (running !== undefined) {
    return connectBroker(running.address, { token: options.token, ...clientCredentials() });
  }
  try {
    return await openEmbeddedLog(dataDir, options);
  } catch (err) {
    if (!(err instanceof DataDirLockedError)) throw err;
    return waitForAnnouncedBroker(dataDir, options, err);
  }
}

/**
 * A broker takes the directory's lock, opens every partition, and only then writes
 * broker.json; `tributary run` starts one for its workers. A command started meanwhile
 * (`tributary groups describe` right after `run`) found the lock and no broker.json, and
 * failed. It now waits, while the lock's holder lives, for the broker to announce itself
 * (or the lock to go), and fails with the lock error only if neither happens in time.
 */
async function waitForAnnouncedBroker(
  dataDir: string,
  options: OpenLogOptions,
  locked: DataDirLockedError,
): Promise<LogClient> {
  const deadline = Date.now() + (options.brokerAnnounceWaitMs ?? 15_000);
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const running = findRunningBroker(dataDir);
    if (running !== undefined) {
      return connectBroker(running.address, { token: options.token, ...clientCredentials() });
    }
    const holder = DirLock.readHolder(dataDir);
    if (holder === undefined || holderState(holder) === "gone") {
      return openEmbeddedLog(dataDir, options);
    }
  }
  throw locked;
}
