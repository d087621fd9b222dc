import path from "node:path";
import { type ChildProc, spawnTs, spawnTsWithFdLimit } from "./child-proc.js";

/**
 * The broker script (broker-process.ts beside this file: the same startBroker the CLI
 * runs), as source when the tests run from source and as JavaScript from dist.
 */
export const BROKER_PROCESS_SCRIPT = path.join(
  import.meta.dirname,
  `broker-process${path.extname(import.meta.filename)}`,
);

export interface BrokerProc {
  proc: ChildProc;
  address: string;
}

/**
 * Starts a broker process on `dataDir` and waits for its ready line. `args` are the
 * script's flags (see broker-process.ts); `nofile` runs it under that descriptor limit.
 */
export async function startBrokerProcess(
  dataDir: string,
  args: string[] = [],
  nofile?: number,
): Promise<BrokerProc> {
  const brokerArgs = ["--data", dataDir, ...args];
  const proc =
    nofile === undefined
      ? spawnTs(BROKER_PROCESS_SCRIPT, brokerArgs)
      : spawnTsWithFdLimit(BROKER_PROCESS_SCRIPT, brokerArgs, nofile);
  const line = await proc.waitForLine((l) => l.startsWith("broker listening on "), "ready line");
  return { proc, address: line.split(" ")[3]! };
}
