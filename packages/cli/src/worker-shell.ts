import { type LogClient, openLog } from "@tributary/log";
import type { WorkerMetrics } from "@tributary/streams";
import { openKafka } from "./log-flags.js";
import type { FromWorker, ToWorker, WorkerSpec } from "./worker-messages.js";

const METRICS_INTERVAL_MS = 500;

/** What a supervised worker process runs: a streams Worker, a ConnectWorker. */
export interface SupervisedWorker {
  stop(): Promise<unknown>;
  /** Settles when the worker ends (stopped, or failed). */
  readonly done: Promise<unknown>;
}

export interface WorkerBody<W extends SupervisedWorker> {
  /** Loads what it runs, connects (with `connect`) and starts; returns the running worker. */
  start(connect: () => Promise<LogClient>, send: (m: FromWorker) => Promise<void>): Promise<W>;
  /** The counts the supervisor's progress line and summary are built from. */
  metrics(worker: W): WorkerMetrics;
  /** Called with each metrics report (e.g. to write a metrics file). */
  onReport?(worker: W): void;
}

/**
 * The shell of one worker process of a supervisor (`tributary run`, `tributary connect
 * run`): reports metrics every 500 ms and once more at the end, and stops cleanly (the
 * worker's own stop, then the log closed) on a "stop" message, SIGTERM or SIGINT, and when
 * the supervisor goes away (IPC disconnect), so an orphan never keeps working. A failure
 * is reported to the supervisor and on stderr, and exits 1.
 */
export async function runSupervisedWorker<W extends SupervisedWorker>(
  spec: WorkerSpec,
  body: WorkerBody<W>,
): Promise<void> {
  const send = (m: FromWorker) =>
    new Promise<void>((resolve) => {
      if (process.connected && process.send !== undefined) process.send(m, () => resolve());
      else resolve();
    });
  let log: LogClient | undefined;
  let worker: W | undefined;
  let stopping: Promise<void> | undefined;
  const report = async (w: W) => {
    body.onReport?.(w);
    await send({ type: "metrics", metrics: body.metrics(w) });
  };
  const stop = (code: number) => {
    stopping ??= (async () => {
      await worker?.stop().catch(() => {});
      // The final counts, sent before exiting: the run's summary is built from them.
      if (worker !== undefined) await report(worker);
      await log?.close().catch(() => {});
      process.exit(code);
    })();
    return stopping;
  };
  process.on("message", (m: ToWorker) => {
    if (m?.type === "stop") void stop(0);
  });
  process.on("disconnect", () => void stop(0));
  process.once("SIGTERM", () => void stop(0));
  process.once("SIGINT", () => void stop(0));

  const connect = async () => {
    log =
      spec.kafka === undefined
        ? await openLog({ broker: spec.broker, token: spec.token })
        : await openKafka(spec.kafka);
    return log;
  };
  try {
    const w = await body.start(connect, send);
    worker = w;
    const timer = setInterval(() => void report(w), METRICS_INTERVAL_MS);
    try {
      await w.done;
    } finally {
      clearInterval(timer);
    }
    await report(w);
  } catch (err) {
    if (stopping !== undefined) return;
    const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, " ");
    if (worker !== undefined) await report(worker);
    await send({ type: "failed", message });
    process.stderr.write(`worker ${spec.index}: ${message}\n`);
    await log?.close().catch(() => {});
    process.exit(1);
  }
}
