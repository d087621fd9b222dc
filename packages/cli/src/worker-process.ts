import {
  type QueryServerOptions,
  querySecretFromEnv,
  versionedApp,
  Worker,
} from "@tributary/streams";
import path from "node:path";
import { loadApp } from "./load-app.js";
import { trailLimit } from "./trail-limit.js";
import type { ToWorker, WorkerSpec } from "./worker-messages.js";
import { runSupervisedWorker } from "./worker-shell.js";
const RESTORE_REPORT_MS = 200;

/**
 * The body of one worker process of `tributary run`: loads the app file itself (each
 * process compiles its own topology), connects to the supervisor's broker and runs one
 * streams Worker until told to stop; its stop commits and leaves the group. The process
 * shell (signals, metrics reports, failures) is worker-shell.ts.
 */
export function runWorkerProcess(spec: WorkerSpec): Promise<void> {
  return runSupervisedWorker<Worker>(spec, {
    async start(connect, send, logger, samples) {
      const loaded = (await loadApp(spec.appFile)).app;
      const v = spec.version;
      const app = v === undefined ? loaded : versionedApp(loaded, v.name, v.outputs);
      const log = await connect();
      const inputLimit = v?.trail === true ? await trailLimit(log, loaded) : undefined;
      let lastRestoreReport = 0;
      // Compiled here, once per process; the Worker runs the Topology with the app's config.
      const worker = new Worker(app.build(), app.config, {
        log,
        stateDir: slotStateDir(spec, app.applicationId, app.config.numStandbyReplicas),
        clientId: `${app.applicationId}-worker-${spec.index}`,
        ...(spec.commitIntervalMs === undefined ? {} : { commitIntervalMs: spec.commitIntervalMs }),
        ...(spec.storeEngine === undefined ? {} : { storeEngine: spec.storeEngine }),
        ...(spec.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: spec.sessionTimeoutMs }),
        ...(spec.groupInstanceId === undefined ? {} : { groupInstanceId: spec.groupInstanceId }),
        ...(spec.orderTasksByTime === undefined ? {} : { orderTasksByTime: spec.orderTasksByTime }),
        query: queryOptions(spec),
        ...(spec.processingGuarantee === undefined
          ? {}
          : { processingGuarantee: spec.processingGuarantee }),
        ...(spec.numStandbyReplicas === undefined
          ? {}
          : { numStandbyReplicas: spec.numStandbyReplicas }),
        onRestore: (e) => {
          const now = Date.now();
          if (e.done < e.total && now - lastRestoreReport < RESTORE_REPORT_MS) return;
          lastRestoreReport = now;
          void send({ type: "restore", ...e });
        },
        onTasksAssigned: (tasks) => void send({ type: "started", tasks }),
        onCommit: (e) => void samples.commitMs.push(e.durationMs),
        onTaskRestored: (e) => void samples.restores.push({ task: e.taskId, ms: e.durationMs }),
        warn: (message, fields) => logger.warn(fields ?? {}, message),
        ...(inputLimit === undefined ? {} : { inputLimit: inputLimit.limit }),
      });
      void worker.done.finally(() => inputLimit?.close());
      const stopReading = () =>
        void worker.stopReadingInputs().then(() => send({ type: "inputs-stopped" }));
      process.on("message", (m: ToWorker) => {
        if (m?.type === "stop-reading-inputs") stopReading();
      });
      if (spec.inputsStopped === true) stopReading();
      await worker.start();
      return worker;
    },
    metrics: (worker) => worker.metrics(),
    deadLetterTopic: (worker) => worker.config.deadLetterTopic,
  });
}

/** The worker's query server: --query-listen with the slot's port (port + index, so N
 * workers of one run do not collide), and the secret from the environment. */
function queryOptions(spec: WorkerSpec): QueryServerOptions | false {
  const listen = spec.queryListen ?? "127.0.0.1:0";
  if (listen === "off") return false;
  const colon = listen.lastIndexOf(":");
  const port = Number(listen.slice(colon + 1));
  const secret = querySecretFromEnv();
  return {
    listen: port === 0 ? listen : `${listen.slice(0, colon)}:${port + spec.index}`,
    ...(secret === undefined ? {} : { secret }),
  };
}

/**
 * Where a worker slot keeps its stores. Workers of one run share `<state>`: a task moving
 * between them finds its stores where it left them. With standby replicas each slot
 * needs its own directory (`<state>/<app>/worker-<i>`, still under the app's directory
 * that reset and abandon delete): a standby copy lives in the same task directory its
 * active would use, and another worker's copy there would hold the active's RocksDB lock.
 */
function slotStateDir(spec: WorkerSpec, applicationId: string, appReplicas: number): string {
  const replicas = spec.numStandbyReplicas ?? appReplicas;
  if (replicas <= 0 || spec.storeEngine === "memory") return spec.stateDir;
  return path.join(spec.stateDir, applicationId, `worker-${spec.index}`);
}
