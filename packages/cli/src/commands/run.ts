import * as path from "node:path";
import { InvalidArgumentError, type LogClient, openLog } from "@tributary/log";
import {
  PROCESSING_GUARANTEES,
  type Topology,
  deployedTopology,
  formatPlan,
  planDeploy,
} from "@tributary/streams";
import type { Command } from "commander";
import { CaughtUpTracker } from "../caught-up.js";
import { committedLag } from "../committed-lag.js";
import { readDeployedTopology, writeDeployedTopology } from "../deployed-topologies.js";
import { CliError } from "../errors.js";
import type { RunTotals } from "../supervisor.js";
import { type LogFlags, addLogOptions, openCliLog, readTokenFile } from "../log-flags.js";
import { oneOf, parseInteger } from "../flags.js";
import { loadApp } from "../load-app.js";
import { note } from "../output.js";
import { ProgressView } from "../progress-view.js";
import { type RunMetrics, serveRunMetrics } from "../run-metrics.js";
import { resolveWorkerBroker } from "../worker-broker.js";
import { Supervisor } from "../supervisor.js";
import { addLogFormatOption, logFormatFlag } from "../worker-logger.js";
import { liveRunAs, parseFrom, parseVersion, versionRunAs } from "../side-by-side-run.js";
import { watchVersions } from "../version-watch.js";
import { workerExecArgv } from "../worker-node-flags.js";
import { runWorkerProcess } from "../worker-process.js";
import type { WorkerSpec } from "../worker-messages.js";

interface RunFlags extends LogFlags {
  workers: string;
  untilCaughtUp?: boolean;
  stateDir?: string;
  commitIntervalMs?: string;
  store: string;
  progress: string;
  maxRestarts: string;
  failOnDrop?: boolean;
  metrics?: string;
  allowIncompatible?: boolean;
  logFormat?: string;
  orderTasksByTime?: boolean;
  queryListen: string;
  processingGuarantee?: string;
  numStandbyReplicas?: string;
  as?: string;
  from?: string;
}

/**
 * `tributary run app.ts --workers N`: runs a topology file as N worker processes that
 * share the app's partitions through its consumer group. The workers reach the log
 * through a broker (they are separate processes and a data dir has one holder): --broker,
 * else the broker already serving the data dir, else one this command starts for the dir
 * and stops at the end. Ctrl-C or SIGTERM stops every worker cleanly (each commits and
 * leaves the group); a second one gives up waiting.
 */
export function registerRunCommand(program: Command): void {
  addLogOptions(
    addLogFormatOption(program.command("run <app>"))
      .description("run a topology file as worker processes, with live progress")
      .option("--workers <n>", "number of worker processes", "1")
      .option(
        "--until-caught-up",
        "stop (exit 0) once the input end offsets seen at start are processed and committed",
      )
      .option("--state-dir <dir>", "root of local state (default <data>/state)")
      .option("--metrics <host:port>", "serve Prometheus /metrics, /healthz and /readyz here")
      .option(
        "--query-listen <host:port>",
        "where workers serve interactive queries (worker i on port+i; port 0: free ports; off: none)",
        "127.0.0.1:0",
      )
      .option(
        "--commit-interval-ms <ms>",
        "how often workers commit (default 1000; 100 under exactly-once)",
      )
      .option(
        "--processing-guarantee <guarantee>",
        "at_least_once or exactly_once (default: the app's config, else at_least_once)",
      )
      .option(
        "--num-standby-replicas <n>",
        "warm copies of each stateful task's stores on other workers (default: the app's config, else 0)",
      )
      .option(
        "--store <engine>",
        "rocksdb, or memory (restored from changelogs at every start)",
        "rocksdb",
      )
      .option(
        "--max-restarts <n>",
        "give up after a worker dies this many times in a row soon after starting",
        "5",
      )
      .option(
        "--as <version>",
        "run as a new version beside the live app: own application id <app>.<version>, outputs to <output>.<version> (docs/reprocessing.md)",
      )
      .option(
        "--from <earliest|time>",
        "with a new --as version: read the inputs from their start, or from this time (ISO-8601 or epoch ms)",
      )
      .option(
        "--allow-incompatible",
        "deploy even if `tributary plan` finds the topology incompatible with the deployed one",
      )
      .option(
        "--order-tasks-by-time",
        "within each worker, run the task whose next record is oldest first (replays history in time order; the default)",
      )
      .option(
        "--no-order-tasks-by-time",
        "let each task run its fetched batches as they come (less switching between tasks, history replays out of time order across them)",
      )
      .option(
        "--fail-on-drop",
        "exit 1 if any record was dead-lettered, dropped as late or lost to retention (the summary says how many)",
      )
      .option(
        "--progress <mode>",
        "auto (a live line on a terminal), plain (a line every few seconds) or none",
        "auto",
      ),
  ).action(async (file: string, flags: RunFlags) => {
    const workers = parseInteger("--workers", flags.workers, 1, 256);
    const commitIntervalMs =
      flags.commitIntervalMs === undefined
        ? undefined
        : parseInteger("--commit-interval-ms", flags.commitIntervalMs, 10, 3_600_000);
    const store = oneOf("--store", flags.store, ["rocksdb", "memory"] as const);
    const processingGuarantee =
      flags.processingGuarantee === undefined
        ? undefined
        : oneOf("--processing-guarantee", flags.processingGuarantee, PROCESSING_GUARANTEES);
    const numStandbyReplicas =
      flags.numStandbyReplicas === undefined
        ? undefined
        : parseInteger("--num-standby-replicas", flags.numStandbyReplicas, 0, 255);
    const maxRestarts = parseInteger("--max-restarts", flags.maxRestarts, 0, 1_000_000);
    const progress = oneOf("--progress", flags.progress, ["auto", "plain", "none"] as const);
    const logFormat = logFormatFlag(flags.logFormat);
    const token = flags.tokenFile === undefined ? undefined : readTokenFile(flags.tokenFile);
    const version = flags.as === undefined ? undefined : parseVersion(flags.as);
    const from = flags.from === undefined ? undefined : parseFrom(flags.from);
    if (from !== undefined && version === undefined) {
      throw new InvalidArgumentError(
        "--from starts a side-by-side version: give it with --as <version> (to reprocess the app itself, use tributary reset)",
      );
    }
    const loaded = await loadApp(file);
    const verbose = process.argv.includes("--verbose");

    const { address, started: broker } = await resolveWorkerBroker(flags, token, verbose);
    let admin: LogClient | undefined;
    try {
      admin =
        flags.kafka === undefined
          ? await openLog({ broker: address, token })
          : await openCliLog(flags);
      // The workers would fail on these one after another; say it once, before starting them.
      for (const t of new Set([
        ...loaded.topology.sourceTopics(),
        ...loaded.topology.sinkTopics(),
      ])) {
        await admin.admin.describeTopic(t);
      }
      const runAs =
        version === undefined
          ? await liveRunAs(admin, loaded.app, loaded.topology)
          : await versionRunAs(admin, loaded.app, loaded.topology, version, from);
      const { app, topology } = runAs;
      // a version is a deploy of its own, beside the live app: nothing of the live one to orphan
      if (version === undefined) {
        await checkDeploy(admin, topology, flags.allowIncompatible === true);
      }
      const tracker = flags.untilCaughtUp
        ? await CaughtUpTracker.start(admin.admin, topology)
        : undefined;
      const view = new ProgressView(
        progress === "auto" ? process.stderr.isTTY === true : false,
        progress === "none" ? Number.POSITIVE_INFINITY : 5000,
      );
      const spec: Omit<WorkerSpec, "index"> = {
        appFile: path.resolve(file),
        broker: address,
        ...(flags.kafka === undefined ? {} : { kafka: flags.kafka }),
        stateDir: path.resolve(flags.stateDir ?? path.join(flags.data, "state")),
        storeEngine: store,
        logFormat,
        name: app.applicationId,
        ...(flags.orderTasksByTime === undefined
          ? {}
          : { orderTasksByTime: flags.orderTasksByTime }),
        queryListen: queryListenFlag(flags.queryListen),
        ...(token === undefined ? {} : { token }),
        ...(commitIntervalMs === undefined ? {} : { commitIntervalMs }),
        ...(processingGuarantee === undefined ? {} : { processingGuarantee }),
        ...(numStandbyReplicas === undefined ? {} : { numStandbyReplicas }),
        ...runAs.spec,
      };
      let metrics: RunMetrics | undefined;
      const supervisor = new Supervisor({
        workers,
        spec,
        command: {
          execPath: process.execPath,
          args: [
            ...workerExecArgv(process.execArgv, process.env.NODE_OPTIONS),
            process.argv[1]!,
            "_worker",
          ],
        },
        tracker,
        committedLag: () => committedLag(admin!.admin, topology),
        view,
        maxRestarts,
        onSamples: (samples) => metrics?.observe(samples),
      });
      note(
        `running app ${app.applicationId} with ${workers} worker${workers === 1 ? "" : "s"} on ${address}${broker === undefined ? "" : ` (broker started for ${flags.data})`}${tracker === undefined ? "" : ", until caught up"}`,
      );
      const onSignal = () => {
        process.once("SIGINT", () => process.exit(130));
        process.once("SIGTERM", () => process.exit(143));
        note("stopping workers (they commit and leave the group)...");
        void supervisor.stop(0);
      };
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      // Before the workers start: their first reports carry restore durations.
      metrics = await serveRunMetrics(flags.metrics, app.applicationId, supervisor, "app");
      supervisor.start();
      const endWatch = watchVersions({
        log: admin,
        app: loaded.app.applicationId,
        ...(version === undefined ? {} : { version }),
        topology,
        supervisor,
        spec,
        draining: spec.inputsStopped === true,
      });
      const code = await supervisor.finished.finally(() => {
        endWatch();
        metrics?.server.close();
      });
      const totals = supervisor.totals();
      note(
        `stopped app ${app.applicationId}: ${describeTotals(totals, app.config.deadLetterTopic)}`,
      );
      process.exitCode = code;
      const dropped = totals.deadLettered + totals.droppedLate + totals.lostToRetention;
      if (flags.failOnDrop && code === 0 && dropped > 0) {
        throw new CliError(
          "RECORDS_DROPPED",
          `--fail-on-drop: ${dropped} record${dropped === 1 ? "" : "s"} did not make it to the output (see the summary above)`,
        );
      }
    } finally {
      await admin?.close().catch(() => {});
      await broker?.stop();
    }
  });

  program
    .command("_worker <spec>", { hidden: true })
    .description("one worker process of tributary run (started by it)")
    .action(async (spec: string) => {
      await runWorkerProcess(JSON.parse(spec) as WorkerSpec);
    });
}

/**
 * Plans the deploy against the topology the app last ran (see commands/plan.ts): refuses
 * a change that would orphan or misread state unless told, then records this topology as
 * the deployed one, so the next plan compares against it.
 */
async function checkDeploy(log: LogClient, topology: Topology, allow: boolean): Promise<void> {
  const next = deployedTopology(topology);
  const plan = planDeploy(await readDeployedTopology(log, topology.applicationId), next);
  if (plan.verdict !== "compatible") {
    const worst = plan.changes.find((c) => c.verdict === plan.verdict)!;
    if (!allow) {
      note(formatPlan(plan).trimEnd());
      throw new CliError(
        "DEPLOY_REFUSED",
        `refusing to deploy ${topology.applicationId}: ${plan.verdict === "migration" ? "it needs a state migration" : "it is incompatible with the deployed topology"} (${worst.subject} ${worst.what}); the plan above says what to do, or run with --allow-incompatible to deploy anyway`,
      );
    }
    note(`deploying with --allow-incompatible despite the plan:\n${formatPlan(plan).trimEnd()}`);
  }
  if (plan.runningSince === null || plan.changes.length > 0) {
    await writeDeployedTopology(log, next);
  }
}

/** The run's final counts, dead letters and late drops named even when zero. */
function describeTotals(t: RunTotals, deadLetterTopic: string): string {
  const undecodable =
    t.deserializationFailed === 0 ? "" : `, ${t.deserializationFailed} of them undecodable`;
  const lost =
    t.lostToRetention === 0
      ? ""
      : `; ${t.lostToRetention} input offset${t.lostToRetention === 1 ? "" : "s"} lost to retention (deleted before they were read: the app was behind its input's retention; see the warnings)`;
  return `processed ${t.processed} record${t.processed === 1 ? "" : "s"}; ${t.deadLettered} dead-lettered to '${deadLetterTopic}'${undecodable}; ${t.droppedLate} dropped as late (their window had closed)${lost}`;
}

/** --query-listen: "off", or host:port (checked here, once, rather than in each worker). */
function queryListenFlag(raw: string): string {
  if (raw === "off" || /^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/.test(raw)) {
    const port = Number(raw.slice(raw.lastIndexOf(":") + 1));
    if (raw === "off" || port <= 65535) return raw;
  }
  throw new InvalidArgumentError(
    `--query-listen ${raw}: expected host:port (127.0.0.1:0 picks free ports) or off`,
  );
}
