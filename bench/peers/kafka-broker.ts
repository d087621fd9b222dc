import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/**
 * The Kafka broker the benchmark runs against: scripts/kafka.sh's single node, on
 * TRIBUTARY_KAFKA_PORT (default here 29092, away from the 19092.. CI uses) with its state in
 * TRIBUTARY_KAFKA_STATE. A broker already running there is used and left running; one this
 * benchmark started is stopped at the end.
 */
export interface Broker {
  bootstrap: string;
  pid: number;
  stop(): void;
}

const script = path.join(import.meta.dirname, "..", "..", "scripts", "kafka.sh");

export function startBroker(): Broker {
  const env = {
    ...process.env,
    TRIBUTARY_KAFKA_PORT: process.env.TRIBUTARY_KAFKA_PORT ?? "29092",
    TRIBUTARY_KAFKA_STATE: process.env.TRIBUTARY_KAFKA_STATE ?? "/tmp/tributary-peers-kafka",
  };
  const kafka = (verb: string) =>
    spawnSync("bash", [script, verb], {
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
  const running = kafka("status").status === 0;
  if (!running) {
    console.log(`starting Kafka on port ${env.TRIBUTARY_KAFKA_PORT} (scripts/kafka.sh) ...`);
    const r = kafka("start");
    if (r.status !== 0) {
      throw new Error(
        `scripts/kafka.sh start failed (its message is above): the benchmark needs a Kafka broker; set TRIBUTARY_KAFKA_PORT to a free port if ${env.TRIBUTARY_KAFKA_PORT} is taken`,
      );
    }
  }
  const bootstrap = kafka("status").stdout.trim();
  const pid = Number(fs.readFileSync(path.join(env.TRIBUTARY_KAFKA_STATE, "pid"), "utf8"));
  return {
    bootstrap,
    pid,
    stop: () => {
      if (!running) kafka("stop");
    },
  };
}
