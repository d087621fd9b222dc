import { Worker } from "../runtime/worker.js";
import type { WorkerOptions } from "../runtime/worker-options.js";
import type { App } from "../topology/app.js";

/**
 * Compiles `app` and creates a worker that runs it over `options.log` with the app's
 * config; `await worker.start()` runs it. The log client stays the caller's (the worker
 * never closes it). The App → (Topology, config) step is here, on the DSL's side: the
 * runtime's Worker takes only what it runs.
 */
export function runWorker(app: App, options: WorkerOptions): Worker {
  return new Worker(app.build(), app.config, options);
}
