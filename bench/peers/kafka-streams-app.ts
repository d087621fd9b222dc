import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/**
 * The Kafka Streams app (kafka-streams/: PeerBench.java and its pom): built with Maven,
 * which also writes the runtime classpath (jars from Maven Central, cached in ~/.m2), and
 * run with `java -cp`.
 */

const project = path.join(import.meta.dirname, "kafka-streams");

function need(tool: string, args: string[], hint: string): void {
  const r = spawnSync(tool, args, { stdio: "ignore" });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error(`${tool} is needed for the Kafka Streams side of the peer benchmark: ${hint}`);
  }
}

/** Builds the app (incremental: Maven recompiles only what changed); returns its classpath. */
export function buildKafkaStreamsApp(): string {
  need("java", ["-version"], "install Java 17 (apt-get install openjdk-17-jdk-headless)");
  need("mvn", ["-v"], "install Maven (apt-get install maven)");
  console.log("building the Kafka Streams app with Maven ...");
  const r = spawnSync("mvn", ["-q", "-B", "-Dstyle.color=never", "package"], {
    cwd: project,
    encoding: "utf8",
  });
  if (r.status !== 0) {
    throw new Error(
      `mvn package in ${project} failed (is Maven Central reachable?):\n${r.stdout}${r.stderr}`,
    );
  }
  const jar = path.join(project, "target", "peer-bench-kafka-streams-1.jar");
  const deps = fs.readFileSync(path.join(project, "target", "classpath.txt"), "utf8").trim();
  return `${jar}${path.delimiter}${deps}`;
}

export interface KafkaStreamsRun {
  workload: string;
  bootstrap: string;
  appId: string;
  stateDir: string;
  records: number;
  inputs: string[];
  output: string;
}

/** The java command line of one run (PeerBench's argument order). */
export function kafkaStreamsArgs(classpath: string, r: KafkaStreamsRun): string[] {
  return [
    "-cp",
    classpath,
    "dev.tributary.peers.PeerBench",
    r.workload,
    r.bootstrap,
    r.appId,
    r.stateDir,
    String(r.records),
    r.inputs.join(","),
    r.output,
  ];
}
