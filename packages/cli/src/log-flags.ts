import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_DATA_DIR, InvalidArgumentError, type LogClient, openLog } from "@tributary/log";
import type { Command } from "commander";

/*
 * The flags by which a command names its log (--broker, --kafka, --data, --token-file),
 * and opening the log they name: a Kafka cluster, a broker, or the data directory itself.
 */

/** The flags every command that talks to a log takes. */
export interface LogFlags {
  broker?: string;
  /** Kafka bootstrap brokers (comma-separated host:port): the log is a Kafka cluster. */
  kafka?: string;
  data: string;
  tokenFile?: string;
}

/**
 * Adds --broker, --data and --token-file. With neither --broker nor a running broker for
 * the data dir, the command opens the dir itself (and holds its lock while it runs).
 */
export function addLogOptions(cmd: Command): Command {
  return cmd
    .option("--broker <address>", "a broker address (tcp://host:port or unix:/path)")
    .option("--kafka <brokers>", "use a Kafka cluster (bootstrap host:port, comma-separated)")
    .option(
      "--data <dir>",
      "data directory (used when no --broker is given)",
      `./${DEFAULT_DATA_DIR}`,
    )
    .option("--token-file <file>", "the shared token of a broker started with --token-file");
}

export async function openCliLog(flags: LogFlags): Promise<LogClient> {
  if (flags.kafka !== undefined) {
    if (flags.broker !== undefined) {
      throw new InvalidArgumentError("--kafka and --broker exclude each other: pick one");
    }
    return openKafka(flags.kafka);
  }
  const token = flags.tokenFile === undefined ? undefined : readTokenFile(flags.tokenFile);
  const broker = flags.broker === undefined ? undefined : normalizeBroker(flags.broker);
  return openLog({ broker, dataDir: flags.data, token });
}

/** Opens the log, runs `body`, and always closes the log (releasing the dir lock). */
export async function withLog<T>(
  flags: LogFlags,
  body: (log: LogClient) => Promise<T>,
): Promise<T> {
  const log = await openCliLog(flags);
  try {
    return await body(log);
  } finally {
    await log.close();
  }
}

/** Loaded only when asked for: the Kafka client is not needed by the embedded default. */
export async function openKafka(brokers: string): Promise<LogClient> {
  const { openKafkaLog } = await import("@tributary/kafka");
  return openKafkaLog({ brokers, clientId: "tributary-cli" });
}

/** `host:port` is taken as TCP, so users can type what they see in `broker listening on`. */
export function normalizeBroker(raw: string): string {
  if (raw.startsWith("tcp://") || raw.startsWith("tls://") || raw.startsWith("unix:")) return raw;
  if (raw.startsWith("/") || raw.startsWith(".")) return `unix:${raw}`;
  return `tcp://${raw}`;
}

export function readTokenFile(file: string): string {
  let token: string;
  try {
    token = fs.readFileSync(file, "utf8").trim();
  } catch (err) {
    throw new InvalidArgumentError(`--token-file ${file}: ${(err as Error).message}`);
  }
  if (token.length === 0)
    throw new InvalidArgumentError(`--token-file ${file} is empty: put the broker's token in it`);
  return token;
}

/**
 * Where an app keeps its local state: `<data>/state/<applicationId>` unless --state-dir
 * says otherwise. The log ignores directories it did not create, so state can live
 * beside the topics of the data dir.
 */
export function appStateDir(data: string, applicationId: string, stateDir?: string): string {
  return path.resolve(stateDir ?? path.join(data, "state"), applicationId);
}
