import type { LogClient } from "@tributary/log";
import type { Topology } from "@tributary/streams";
import { CaughtUpTracker } from "./caught-up.js";
import { note } from "./output.js";
import { readShadows } from "./shadow-records.js";
import type { Supervisor } from "./supervisor.js";
import type { WorkerSpec } from "./worker-messages.js";

const WATCH_MS = 1000;

/**
 * What a running `tributary run` does about its app's versions (`_tributary_shadows`, read
 * every second):
 * - the live app, when a version is being promoted (or was at start): its workers stop
 *   reading input (each commits where it stands), it waits until its repartition topics are
 *   consumed and committed, then stops: its committed input offsets are then final, and
 *   every output of the input before them is written;
 * - a version running as a shadow, once promoted: its workers are stopped cleanly and
 *   started again writing the real output topics, no longer trailing the live app.
 * Returns a function that ends the watch.
 */
export function watchVersions(options: {
  log: LogClient;
  app: string;
  /** The version this run is (undefined: the live app). */
  version?: string;
  topology: Topology;
  supervisor: Supervisor;
  spec: Omit<WorkerSpec, "index">;
  /** Already asked to drain at start (a live run during a promote). */
  draining: boolean;
}): () => void {
  const { log, supervisor } = options;
  let stopped = false;
  let draining = options.draining;
  let promoted = false;
  const drain = async () => {
    await supervisor.stopReadingInputs();
    const tracker = CaughtUpTracker.to(log.admin, options.topology, new Map());
    while (!stopped) {
      const r = await tracker.remaining().catch(() => ({ caughtUp: false }));
      if (r.caughtUp) {
        note("inputs stopped and internal topics drained for the promote: stopping");
        await supervisor.stop(0);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  if (draining) void drain();
  const check = async () => {
    const versions = await readShadows(log, options.app);
    if (options.version === undefined) {
      const promoting = versions.find((r) => r.phase !== "shadow");
      if (promoting !== undefined && !draining) {
        draining = true;
        note(
          `version ${promoting.version} is being promoted: reading no more input, draining, then stopping`,
        );
        void drain();
      }
      return;
    }
    const me = versions.find((r) => r.version === options.version);
    if (me?.phase === "promoted" && !promoted && options.spec.version?.outputs === "shadow") {
      promoted = true;
      note(`version ${options.version} promoted: restarting the workers on the real output topics`);
      await supervisor.restartWith({
        ...options.spec,
        version: { name: options.version, outputs: "real", trail: false },
      });
    }
  };
  void (async () => {
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, WATCH_MS));
      if (stopped) break;
      // the log busy or restarting: look again next time
      await check().catch(() => {});
    }
  })();
  return () => {
    stopped = true;
  };
}
