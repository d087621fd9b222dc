import { spawn } from "node:child_process";
import * as readline from "node:readline";
import { treeCpuSeconds, treePeakRssMB } from "./process-tree.js";

/**
 * Runs one measured child (a Kafka Streams JVM or a Tributary worker) under one protocol:
 * the child prints `STARTED` when its first record is processed (restore: when restoring
 * starts) and `DONE {json}` when all its records went through and it has stopped and
 * committed; then it waits for its stdin to close, so its /proc entries are still there to
 * read. Measured between the two lines: wall time, the CPU of the child's process tree
 * (and of the Kafka broker, when there is one) and the tree's peak RSS.
 */
export interface Measured {
  ms: number;
  cpuSeconds: number;
  peakRssMB: number;
  /** CPU the broker process used meanwhile (Kafka runs), else null. */
  brokerCpuSeconds: number | null;
  /** The child's DONE json. */
  reported: { records: number };
}

export interface ChildCommand {
  label: string;
  command: string;
  args: string[];
  /** The Kafka broker's pid, to account its CPU separately. */
  brokerPid: number | null;
  timeoutMs: number;
}

export async function runMeasured(c: ChildCommand): Promise<Measured> {
  const child = spawn(c.command, c.args, { stdio: ["pipe", "pipe", "inherit"] });
  const pid = child.pid!;
  const brokerCpu = () => (c.brokerPid === null ? 0 : treeCpuSeconds(c.brokerPid));
  let start: { at: number; cpu: number; broker: number } | null = null;
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const done = new Promise<Measured>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${c.label}: no DONE within ${c.timeoutMs / 1000} s (killed)`));
    }, c.timeoutMs);
    child.on("error", (e) =>
      reject(new Error(`${c.label}: could not start ${c.command}: ${e.message}`)),
    );
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(`${c.label}: exited with code ${code} before it was done (its stderr is above)`),
      );
    });
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line === "STARTED") {
        start = { at: performance.now(), cpu: treeCpuSeconds(pid), broker: brokerCpu() };
      } else if (line.startsWith("DONE ")) {
        clearTimeout(timer);
        if (start === null) {
          reject(new Error(`${c.label}: printed DONE without STARTED`));
          return;
        }
        resolve({
          ms: performance.now() - start.at,
          cpuSeconds: treeCpuSeconds(pid) - start.cpu,
          peakRssMB: treePeakRssMB(pid),
          brokerCpuSeconds: c.brokerPid === null ? null : brokerCpu() - start.broker,
          reported: JSON.parse(line.slice(5)) as { records: number },
        });
      }
    });
  });
  try {
    const measured = await done;
    child.stdin!.end();
    const code = await exited;
    if (code !== 0) throw new Error(`${c.label}: exited with code ${code} after DONE`);
    return measured;
  } finally {
    child.stdin!.end();
  }
}
