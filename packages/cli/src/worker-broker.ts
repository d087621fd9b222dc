import {
  type RunningBroker,
  servingOrOpening,
  formatBrokerAddress,
  startBroker,
} from "@tributary/log";
import { pino } from "pino";
import { type LogFlags, normalizeBroker } from "./log-flags.js";

/**
 * The log address worker processes should use, since a data dir has one holder:
 * `kafka:<brokers>` with --kafka, --broker, else the broker already serving the data dir,
 * else one started here for the dir (returned, for the caller to stop at the end).
 */
export async function resolveWorkerBroker(
  flags: LogFlags,
  token: string | undefined,
  verbose: boolean,
): Promise<{ address: string; started?: RunningBroker }> {
  if (flags.kafka !== undefined) return { address: `kafka:${flags.kafka}` };
  if (flags.broker !== undefined) return { address: normalizeBroker(flags.broker) };
  return servingOrOpening(flags.data, {
    viaBroker: async (running) => ({ address: running.address }),
    open: async () => {
      const started = await startBroker({
        dataDir: flags.data,
        address: "tcp://127.0.0.1:0",
        token,
        logger: pino(
          { level: verbose ? "info" : "warn", base: { pid: process.pid } },
          pino.destination(2),
        ),
      });
      return { address: formatBrokerAddress(started.address), started };
    },
    waitMs: 15_000,
  });
}
