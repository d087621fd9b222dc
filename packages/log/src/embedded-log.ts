import { type EmbeddedLogOptions, EmbeddedLogService } from "./embedded-log-service.js";
import type { LogClient } from "./client/log-client.js";
import { ServiceLogClient } from "./client/service-log-client.js";

/**
 * Opens the log in-process on a data directory (created if missing) and returns a
 * LogClient over it. The directory is locked until `close()`: a second process gets a
 * DataDirLockedError naming this one, and should talk to a broker instead.
 */
export async function openEmbeddedLog(
  dataDir: string,
  options: EmbeddedLogOptions = {},
): Promise<LogClient> {
  return new ServiceLogClient(await EmbeddedLogService.open(dataDir, options));
}
