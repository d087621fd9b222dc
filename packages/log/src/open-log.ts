import { connectBroker } from "./broker/connect-broker.js";
import { openEmbeddedLog } from "./embedded-log.js";
import type { EmbeddedLogOptions } from "./embedded-log-service.js";
import type { LogClient } from "./client/log-client.js";
import { clientCredentials } from "./security/client-credentials.js";
import { servingOrOpening } from "./broker/serving-or-opening.js";

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
  return servingOrOpening(options.dataDir ?? DEFAULT_DATA_DIR, {
    viaBroker: (running) =>
      connectBroker(running.address, { token: options.token, ...clientCredentials() }),
    open: () => openEmbeddedLog(options.dataDir ?? DEFAULT_DATA_DIR, options),
    waitMs: options.brokerAnnounceWaitMs ?? 15_000,
  });
}
