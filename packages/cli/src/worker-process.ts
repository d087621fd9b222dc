import { type LogClient, openLog } from "@tributary/log";
import { type Worker, runWorker } from "@tributary/streams";
import { openKafka } from "./cli-log.js";
import { loadApp } from "./load-app.js";
import type { FromWorker, ToWorker, WorkerSpec } from "./worker-messages.js";

const METRICS_INTERVAL_MS = 500;
const RESTORE_REPORT_MS = 200;

/**
 * The body of one worker process of `tributary run`: loads the app file itself (each
 * process compiles its own topology), connects to the supervisor's broker and runs one
 * streams Worker until told to stop. Stops cleanly (commit, leave the group) on a "stop"
 * message, SIGTERM or SIGINT, and when the supervisor goes away (IPC disconnect), so an
 * orphan never keeps processing.
 */
export async function runWorkerProcess(spec: WorkerSpec): Promise<void> {
  const send = (m: FromWorker) =>
    new Promise<void>((resolve) => {
      if (process.connected && process.send !== undefined) process.send(m, () => resolve());
      else resolve();
    });
  let log: LogClient | undefined;
  let worker: Worker | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (code: number) => {
    stopping ??= (async () => {
      await worker?.stop().catch(() => {});
      // The final counts, sent before exiting: the run's summary is built from them.
      if (worker !== undefined) await send({ type: "metrics", metrics: worker.metrics() });
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

  try {
    const { app } = await loadApp(spec.appFile);
    log =
      spec.kafka === undefined
        ? await openLog({ broker: spec.broker, token: spec.token })
        : await openKafka(spec.kafka);
    let lastRestoreReport = 0;
    worker = runWorker(app, {
      log,
      stateDir: spec.stateDir,
      clientId: `${app.applicationId}-worker-${spec.index}`,
      ...(spec.commitIntervalMs === undefined ? {} : { commitIntervalMs: spec.commitIntervalMs }),
      ...(spec.storeEngine === undefined ? {} : { storeEngine: spec.storeEngine }),
      ...(spec.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: spec.sessionTimeoutMs }),
      onRestore: (e) => {
        const now = Date.now();
        if (e.done < e.total && now - lastRestoreReport < RESTORE_REPORT_MS) return;
        lastRestoreReport = now;
        void send({ type: "restore", ...e });
      },
      onTasksAssigned: (tasks) => void send({ type: "started", tasks }),
      warn: (message) => process.stderr.write(`worker ${spec.index}: ${message}\n`),
    });
    await worker.start();
    const timer = setInterval(
      () => void send({ type: "metrics", metrics: worker!.metrics() }),
      METRICS_INTERVAL_MS,
    );
    try {
      await worker.done;
    } finally {
      clearInterval(timer);
    }
    await send({ type: "metrics", metrics: worker.metrics() });
  } catch (err) {
    if (stopping !== undefined) return;
    const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, " ");
    if (worker !== undefined) await send({ type: "metrics", metrics: worker.metrics() });
    await send({ type: "failed", message });
    process.stderr.write(`worker ${spec.index}: ${message}\n`);
    await log?.close().catch(() => {});
    process.exit(1);
  }
}
