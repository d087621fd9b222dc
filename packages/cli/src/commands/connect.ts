import * as fs from "node:fs";
import * as path from "node:path";
import {
  ConnectWorker,
  type ConnectorPlan,
  loadConnectFile,
  readTaskStatuses,
  tasksForWorker,
} from "@tributary/connect";
import type { WorkerMetrics } from "@tributary/streams";
import type { Command } from "commander";
import { describeConnectTotals } from "../connect-summary.js";
import { type LogFlags, addLogOptions, readTokenFile, withLog } from "../log-flags.js";
import { oneOf, parseInteger } from "../flags.js";
import { note, printJson, printTable } from "../output.js";
import { ProgressView } from "../progress-view.js";
import { type RunMetrics, serveRunMetrics } from "../run-metrics.js";
import { Supervisor } from "../supervisor.js";
import { resolveWorkerBroker } from "../worker-broker.js";
import type { WorkerSpec } from "../worker-messages.js";
import { addLogFormatOption, logFormatFlag } from "../worker-logger.js";
import { runSupervisedWorker } from "../worker-shell.js";

interface ConnectRunFlags extends LogFlags {
  workers: string;
  progress: string;
  maxRestarts: string;
  metricsDir?: string;
  metrics?: string;
  logFormat?: string;
}

/** What `_connect-worker` gets: the run's worker spec plus the worker count. */
interface ConnectWorkerSpec extends WorkerSpec {
  workers: number;
  metricsDir?: string;
}

/**
 * `tributary connect run FILE --workers N` runs the connectors of a connect file (see
 * docs/connect.md) as N worker processes, with the same supervisor, restarts and progress
 * line as `tributary run`; tasks are spread round robin over the workers, and each
 * worker restarts a failing task with backoff. `tributary connect status` prints each
 * task's last reported state, restarts, last error and sink lag.
 */
export function registerConnectCommand(program: Command): void {
  const connect = program
    .command("connect")
    .description("data integration: run source and sink connectors, show their status");

  addLogOptions(
    addLogFormatOption(connect.command("run <file>"))
      .description("run the connectors of a connect file (JSON, TS or JS) as worker processes")
      .option("--workers <n>", "number of worker processes", "1")
      .option(
        "--max-restarts <n>",
        "give up after a worker process dies this many times in a row soon after starting",
        "5",
      )
      .option("--metrics-dir <dir>", "write Prometheus text files of the counters here")
      .option("--metrics <host:port>", "serve Prometheus /metrics, /healthz and /readyz here")
      .option(
        "--progress <mode>",
        "auto (a live line on a terminal), plain (a line every few seconds) or none",
        "auto",
      ),
  ).action(async (file: string, flags: ConnectRunFlags) => {
    const workers = parseInteger("--workers", flags.workers, 1, 256);
    const maxRestarts = parseInteger("--max-restarts", flags.maxRestarts, 0, 1_000_000);
    const progress = oneOf("--progress", flags.progress, ["auto", "plain", "none"] as const);
    const logFormat = logFormatFlag(flags.logFormat);
    const token = flags.tokenFile === undefined ? undefined : readTokenFile(flags.tokenFile);
    // Every config is checked here, once, before a worker starts.
    const plans = await loadConnectFile(file);
    const verbose = process.argv.includes("--verbose");
    const { address, started } = await resolveWorkerBroker(flags, token, verbose);
    try {
      const view = new ProgressView(
        progress === "auto" ? process.stderr.isTTY === true : false,
        progress === "none" ? Number.POSITIVE_INFINITY : 5000,
      );
      const spec: Omit<ConnectWorkerSpec, "index"> = {
        appFile: path.resolve(file),
        broker: address,
        ...(flags.kafka === undefined ? {} : { kafka: flags.kafka }),
        stateDir: path.resolve(flags.data),
        ...(token === undefined ? {} : { token }),
        workers,
        ...(flags.metricsDir === undefined ? {} : { metricsDir: path.resolve(flags.metricsDir) }),
        logFormat,
        name: path.basename(file),
      };
      let metrics: RunMetrics | undefined;
      const supervisor = new Supervisor({
        workers,
        spec,
        command: {
          execPath: process.execPath,
          args: [...process.execArgv, process.argv[1]!, "connect", "_worker"],
        },
        view,
        maxRestarts,
        onSamples: (samples) => metrics?.observe(samples),
        tasksMustServe: true,
      });
      const tasks = plans.reduce((n, p) => n + p.tasks.length, 0);
      note(
        `running ${plans.length} connector${plans.length === 1 ? "" : "s"} (${tasks} task${tasks === 1 ? "" : "s"}) on ${workers} worker${workers === 1 ? "" : "s"} on ${address}${started === undefined ? "" : ` (broker started for ${flags.data})`}`,
      );
      const onSignal = () => {
        process.once("SIGINT", () => process.exit(130));
        process.once("SIGTERM", () => process.exit(143));
        note("stopping workers (sources store their offsets, sinks commit)...");
        void supervisor.stop(0);
      };
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      // Before the workers start: their first reports carry restore durations.
      metrics = await serveRunMetrics(flags.metrics, path.basename(file), supervisor, "connect");
      supervisor.start();
      process.exitCode = await supervisor.finished.finally(() => metrics?.server.close());
      note(describeConnectTotals(plans, supervisor.connectTasks.totals()).join("\n"));
    } finally {
      await started?.stop();
    }
  });

  addLogOptions(
    connect
      .command("status [file]")
      .description(
        "each task's state, restarts, last error and sink lag (of a file's connectors, or all)",
      )
      .option("--json", "print JSON instead of a table"),
  ).action(async (file: string | undefined, flags: LogFlags & { json?: boolean }) => {
    const plans = file === undefined ? undefined : await loadConnectFile(file);
    await withLog(flags, async (log) => {
      const names = plans === undefined ? undefined : new Set(plans.map((p) => p.name));
      const statuses = (await readTaskStatuses(log)).filter(
        (s) => names === undefined || names.has(s.connector),
      );
      const lag = new Map<string, number>();
      for (const connector of new Set(statuses.map((s) => s.connector))) {
        const groups = await log.admin.listGroups();
        if (!groups.some((g) => g.groupId === `connect-${connector}`)) continue;
        const d = await log.admin.describeGroup(`connect-${connector}`);
        lag.set(
          connector,
          d.offsets.reduce((n, o) => n + o.lag, 0),
        );
      }
      const rows = statuses
        .sort((a, b) => a.task.localeCompare(b.task))
        .map((s) => ({ ...s, lag: lag.get(s.connector) ?? null }));
      if (flags.json) {
        printJson(rows);
        return;
      }
      if (rows.length === 0) {
        note("no connector task has reported yet (start them with tributary connect run FILE)");
        return;
      }
      printTable(
        ["CONNECTOR", "TASK", "STATE", "WORKER", "RESTARTS", "SINK LAG", "UPDATED", "LAST ERROR"],
        rows.map((r) => [
          r.connector,
          r.task,
          r.state,
          r.worker,
          r.restarts,
          r.lag === null ? "-" : r.lag,
          new Date(r.at).toISOString(),
          r.error ?? "",
        ]),
      );
    });
  });

  connect
    .command("_worker <spec>", { hidden: true })
    .description("one worker process of tributary connect run (started by it)")
    .action(async (spec: string) => {
      await runConnectWorkerProcess(JSON.parse(spec) as ConnectWorkerSpec);
    });
}

/**
 * The body of one worker process of `connect run`: loads the file itself, connects to the
 * supervisor's log and runs its share of the tasks until told to stop (a "stop" message,
 * SIGTERM/SIGINT, or the supervisor going away).
 */
function runConnectWorkerProcess(spec: ConnectWorkerSpec): Promise<void> {
  const metricsFile =
    spec.metricsDir === undefined
      ? undefined
      : path.join(spec.metricsDir, `connect-worker-${spec.index}.prom`);
  return runSupervisedWorker<ConnectWorker>(spec, {
    async start(connect, send, logger) {
      const plans: ConnectorPlan[] = await loadConnectFile(spec.appFile);
      const worker = new ConnectWorker({
        log: await connect(),
        plans,
        index: spec.index,
        workers: spec.workers,
        warn: (m) => logger.warn(m),
      });
      await worker.start();
      void send({
        type: "started",
        tasks: tasksForWorker(plans, spec.index, spec.workers).map((t) => t.task.id),
      });
      if (spec.metricsDir !== undefined) fs.mkdirSync(spec.metricsDir, { recursive: true });
      return worker;
    },
    metrics: asWorkerMetrics,
    connectTasks: (worker) => worker.taskReports(),
    onReport(worker) {
      if (metricsFile === undefined) return;
      // Written whole then renamed, so a collector never reads half a file.
      fs.writeFileSync(`${metricsFile}.tmp`, worker.metrics.toPrometheus());
      fs.renameSync(`${metricsFile}.tmp`, metricsFile);
    },
  });
}

/** The supervisor's progress line counts records moved (sent by sources, put by sinks). */
function asWorkerMetrics(w: ConnectWorker): WorkerMetrics {
  const m = w.metrics;
  return {
    state: "running",
    tasks: w.taskIds,
    taskMetrics: {},
    rebalances: 0,
    recordsProcessed: m.total("records_sent") + m.total("records_put"),
    recordsSent: m.total("records_sent"),
    deadLettered: m.total("records_dead_lettered"),
    // Connectors decode nothing and have no windows: a sink's undecodable record is
    // dead-lettered and counted above.
    deserializationFailed: 0,
    droppedLate: 0,
    commits: m.total("offset_commits"),
    lag: {},
    totalLag: m.total("lag"),
    restored: 0,
    recordsLostToRetention: m.total("records_lost_to_retention"),
    lostToRetention: {},
  };
}
