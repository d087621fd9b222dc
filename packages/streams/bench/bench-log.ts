import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as readline from "node:readline";
import { connectBroker, type LogClient } from "@tributary/log";

/**
 * The log the streams bench runs on: a broker child process on a temp dir (the default),
 * or, with `--kafka host:port` (or TRIBUTARY_BENCH_KAFKA), a Kafka cluster, in a namespace
 * of its own that is dropped at the end. `address` is what restore-child.ts gets to open
 * the same log: a broker address, or `kafka:<brokers>#<namespace>`.
 */
export interface BenchLog {
  name: "broker" | "kafka";
  log: LogClient;
  address: string;
  stop(): Promise<void>;
}

// The broker script @tributary/log/testing ships (found by path: importing the testing
// entry would load vitest, which a bench does not run under).
const BROKER_PROCESS_SCRIPT = path.join(
  path.dirname(fileURLToPath(import.meta.resolve("@tributary/log/testing"))),
  "broker-process.js",
);

export async function openBenchLog(kafka: string | undefined, dataDir: string): Promise<BenchLog> {
  if (kafka !== undefined && kafka !== "") {
    const namespace = `bench${Date.now().toString(36)}`;
    const log = await openAddress(`kafka:${kafka}#${namespace}`);
    return {
      name: "kafka",
      log,
      address: `kafka:${kafka}#${namespace}`,
      stop: async () => {
        for (const t of await log.admin.listTopics()) await log.admin.deleteTopic(t);
        await log.close();
      },
    };
  }
  const child = spawn(process.execPath, [BROKER_PROCESS_SCRIPT, "--data", dataDir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const rl = readline.createInterface({ input: child.stdout! });
  const address = await new Promise<string>((resolve, reject) => {
    rl.on("line", (l) => {
      if (l.startsWith("broker listening on ")) resolve(l.split(" ")[3]!);
    });
    child.on("exit", (c) => reject(new Error(`broker exited ${c}`)));
  });
  const log = await connectBroker(address);
  return {
    name: "broker",
    log,
    address,
    stop: async () => {
      await log.close();
      await new Promise<void>((resolve) => {
        child.on("exit", () => resolve());
        child.kill("SIGTERM");
      });
    },
  };
}

/** Opens the log an `address` of openBenchLog names. */
export async function openAddress(address: string): Promise<LogClient> {
  if (!address.startsWith("kafka:")) return connectBroker(address);
  const [brokers, namespace] = address.slice("kafka:".length).split("#");
  // @tributary/kafka is not a dependency of streams: loaded only for a Kafka run
  const { openKafkaLog } = await import("@tributary/kafka");
  return openKafkaLog({ brokers: brokers!, namespace: namespace!, clientId: "tributary-bench" });
}
