import type { ConnectTaskReport } from "@tributary/connect";
import { type LogClient, openLog } from "@tributary/log";
import type { WorkerMetrics } from "@tributary/streams";
import type { Logger } from "pino";
import { logNewDrops } from "./drop-log.js";
import { openKafka } from "./log-flags.js";
import { workerLogger } from "./worker-logger.js";
import type { FromWorker, ToWorker, WorkerSamples, WorkerSpec } from "./worker-messages.js";

const METRICS_INTERVAL_MS = 500;

/** What a supervised worker process runs: a streams Worker, a ConnectWorker. */
export interface SupervisedWorker {
  stop(): Promise<unknown>;
  /** Settles when the worker ends (stopped, or failed). */
  readonly done: Promise<unknown>;
}

export interface WorkerBody<W extends SupervisedWorker> {
  /**
   * Loads what it runs, connects (with `connect`) and starts; returns the running worker.
   * Its warnings go to `logger`; `samples` collects durations for the next report.
   */
  start(
    connect: () => Promise<LogClient>,
    send: (m: FromWorker) => Promise<void>,
    logger: Logger,
    samples: WorkerSamples,
  ): Promise<W>;
  /** The counts the supervisor's progress line and summary are built from. */
  metrics(worker: W): WorkerMetrics;
  /** A connector worker's per-task figures, sent with each metrics report. */
  connectTasks?(worker: W): Record<string, ConnectTaskReport>;
  /** Where dead-lettered records go, for the drop warnings (see drop-log.ts). */
  deadLetterTopic?(worker: W): string;
  /** Called with each metrics report (e.g. to write a metrics file). */
  onReport?(worker: W): void;
}

/**
 * The shell of one worker process of a supervisor (`tributary run`, `tributary connect
 * run`): reports metrics every 500 ms and once more at the end, and stops cleanly (the
 * worker's own stop, then the log closed) on a "stop" message, SIGTERM or SIGINT, and when
 * the supervisor goes away (IPC disconnect), so an orphan never keeps working. A failure
 * is reported to the supervisor and logged, and exits 1. It logs on stderr in the run's
 * --log-format (worker-logger.ts): warnings, the records dropped since the last report,
 * and its final counts when it stops.
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
  const logger = workerLogger(spec.logFormat ?? "json", {
    worker: spec.index,
    ...(spec.name === undefined ? {} : { app: spec.name }),
  });
  let log: LogClient | undefined;
  let worker: W | undefined;
  let stopping: Promise<void> | undefined;
  const samples: WorkerSamples = { commitMs: [], restores: [] };
  let dropsSeen: ReturnType<typeof logNewDrops> = new Map();
  const report = async (w: W) => {
    body.onReport?.(w);
    const metrics = body.metrics(w);
    dropsSeen = logNewDrops(logger, dropsSeen, metrics, body.deadLetterTopic?.(w));
    const sent = { commitMs: samples.commitMs.splice(0), restores: samples.restores.splice(0) };
    const connectTasks = body.connectTasks?.(w);
    await send({
      type: "metrics",
      metrics,
      samples: sent,
      ...(connectTasks === undefined ? {} : { connectTasks }),
    });
  };
  const logStopped = (w: W) => {
    const m = body.metrics(w);
    logger.info(
      {
        event: "stopped",
        processed: m.recordsProcessed,
        deadLettered: m.deadLettered,
        deserializationFailed: m.deserializationFailed,
        droppedLate: m.droppedLate,
        lostToRetention: m.recordsLostToRetention,
        commits: m.commits,
      },
      `stopped: processed ${m.recordsProcessed}, ${m.deadLettered} dead-lettered, ${m.droppedLate} dropped as late, ${m.recordsLostToRetention} lost to retention`,
    );
  };
  const stop = (code: number) => {
    stopping ??= (async () => {
      await worker?.stop().catch(() => {});
      // The final counts, sent before exiting: the run's summary is built from them.
      if (worker !== undefined) {
        await report(worker);
        logStopped(worker);
      }
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
    const w = await body.start(connect, send, logger, samples);
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
    const code = errorCode(err);
    logger.error({ event: "failed", ...(code === undefined ? {} : { code }) }, message);
    await log?.close().catch(() => {});
    process.exit(1);
  }
}

/** The `code` of an error or of the first cause that has one (a WorkerFailedError wraps). */
function errorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}
