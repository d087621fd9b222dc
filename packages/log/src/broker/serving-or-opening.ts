import { DataDirLockedError } from "../errors.js";
import { type BrokerInfo, findRunningBroker } from "./broker-info.js";

export interface ServingOrOpening<T> {
  /** What to make of the broker that serves the directory (connect to it, use its address). */
  viaBroker(info: BrokerInfo): Promise<T>;
  /** What to make of the directory itself when no broker serves it (open it, start one). */
  open(): Promise<T>;
  /** How long to wait while another live process holds the directory. */
  waitMs: number;
}

/**
 * The one way to reach a data directory: through the broker serving it (its broker.json),
 * else by opening it. A directory can be held for a moment by another process: a command
 * (`tributary groups describe`) that opened it, or a broker that holds the lock while it
 * opens its partitions and only then writes broker.json (`tributary run` starts one). So
 * a DATA_DIR_LOCKED is waited out, looking again for broker.json, until `waitMs` passes;
 * then the lock error is thrown as it is.
 */
export async function servingOrOpening<T>(dataDir: string, how: ServingOrOpening<T>): Promise<T> {
  const deadline = Date.now() + how.waitMs;
  for (;;) {
    const running = findRunningBroker(dataDir);
    if (running !== undefined) return how.viaBroker(running);
    try {
      return await how.open();
    } catch (err) {
      if (!(err instanceof DataDirLockedError) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
