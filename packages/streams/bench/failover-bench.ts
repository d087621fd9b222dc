import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import * as readline from "node:readline";
import type { LogClient } from "@tributary/log";

/**
 * Failover with a standby against without one (streams-bench.ts, BENCH_ONLY=failover):
 * two worker processes (failover-child.ts) of an app whose one task holds a store of
 * `keys` keys (its changelog filled beforehand); the one running the task is SIGKILLed
 * and one record is produced; timed from the kill until the other worker has processed
 * it. Without a standby the survivor restores the whole changelog first; with one
 * (numStandbyReplicas 1) it restores only the tail past its warm copy. Both runs wait out
 * the same session timeout (the group noticing the death), so the difference is the
 * restore.
 */
export interface FailoverResult {
  withStandbyMs: number;
  withoutStandbyMs: number;
  /** Of those, opening and restoring the task's store on the survivor (the rest is the
   * group noticing the death, the same in both). */
  restoreWithStandbyMs: number;
  restoreWithoutStandbyMs: number;
  /** Changelog records the survivor replayed when the task moved to it. */
  restoredWithStandby: number;
  restoredWithoutStandby: number;
}

const SESSION_MS = 2000;

export async function failoverBench(
  log: LogClient,
  address: string,
  root: string,
  keys: number,
  fill: (topic: string, n: number, key: (i: number) => Buffer) => Promise<void>,
): Promise<FailoverResult> {
  const without = await failoverOnce(log, address, root, keys, 0, fill);
  const withStandby = await failoverOnce(log, address, root, keys, 1, fill);
  return {
    withStandbyMs: withStandby.ms,
    withoutStandbyMs: without.ms,
    restoreWithStandbyMs: withStandby.restoreMs,
    restoreWithoutStandbyMs: without.restoreMs,
    restoredWithStandby: withStandby.restored,
    restoredWithoutStandby: without.restored,
  };
}

interface Child {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  waitFor(test: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

function startChild(args: string[]): Child {
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", path.join(import.meta.dirname, "failover-child.ts"), ...args],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines: Record<string, unknown>[] = [];
  const waiters: {
    test: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  readline.createInterface({ input: proc.stdout! }).on("line", (text) => {
    const l = JSON.parse(text) as Record<string, unknown>;
    lines.push(l);
    for (const w of [...waiters]) {
      if (!w.test(l)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(l);
    }
  });
  return {
    proc,
    lines,
    waitFor: (test) => {
      const seen = lines.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ test, resolve });
        proc.once("exit", (c) => reject(new Error(`failover worker exited ${c}`)));
      });
    },
  };
}

async function failoverOnce(
  log: LogClient,
  address: string,
  root: string,
  keys: number,
  replicas: number,
  fill: (topic: string, n: number, key: (i: number) => Buffer) => Promise<void>,
): Promise<{ ms: number; restoreMs: number; restored: number }> {
  const app = `bench-failover-${replicas}`;
  await log.admin.createTopic(`${app}-in`, { partitions: 1 });
  await log.admin.createTopic(`${app}-kv-changelog`, {
    partitions: 1,
    config: { cleanupPolicy: "compact" },
  });
  await fill(`${app}-kv-changelog`, keys, (i) => Buffer.from(`key-${i}`.padStart(10, "0")));
  const args = (dir: string) => [
    address,
    path.join(root, dir),
    app,
    String(replicas),
    String(SESSION_MS),
  ];
  const first = startChild(args(`${app}-a`));
  const second = startChild(args(`${app}-b`));
  try {
    await second.waitFor((l) => l.event === "tasks");
    // the task settles on one worker (sticky); the other keeps a copy when asked to
    const holds = (c: Child) =>
      (c.lines.findLast((l) => l.event === "tasks")?.tasks as string[] | undefined)?.includes(
        "0_0",
      ) === true;
    while (holds(first) === holds(second)) await new Promise((r) => setTimeout(r, 20));
    const [active, survivor] = holds(first) ? [first, second] : [second, first];
    await active.waitFor((l) => l.event === "restored");
    if (replicas > 0) {
      await survivor.waitFor(
        (l) => l.event === "standbys" && (l.lags as Record<string, number>)["0_0"] === 0,
      );
    }
    const restoresBefore = survivor.lines.filter((l) => l.event === "restored").length;
    active.proc.kill("SIGKILL");
    const killedAt = Date.now();
    const producer = log.producer();
    await producer.send(`${app}-in`, [{ key: Buffer.from("after-kill"), value: Buffer.from("x") }]);
    await producer.close();
    const processed = await survivor.waitFor((l) => l.event === "processed");
    const restored = survivor.lines.filter((l) => l.event === "restored")[restoresBefore];
    const opened = survivor.lines.findLast((l) => l.event === "taskRestored");
    return {
      ms: (processed.at as number) - killedAt,
      restoreMs: Math.round((opened?.ms as number) ?? -1),
      restored: (restored?.records as number) ?? -1,
    };
  } finally {
    first.proc.kill("SIGKILL");
    second.proc.kill("SIGKILL");
  }
}
