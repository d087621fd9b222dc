/**
 * The young generation's semi-space size, in MiB, for worker processes. A worker keeps
 * one poll's decoded records and the outputs awaiting their send alive across every
 * young-generation GC; with V8's default (16 MiB on 64-bit Node 20) each scavenge copies
 * thousands of those survivors. 64 MiB cut the stateless path's worker CPU per record by
 * about 15% (docs/benchmarks.md, "2026-12-07 night"); the cost is up to 3 × 64 MiB more
 * reserved heap per worker (two semi-spaces plus the new large-object space), not RSS
 * until used.
 */
export const WORKER_SEMI_SPACE_MB = 64;

const SEMI_SPACE_FLAG = "--max-semi-space-size";

/**
 * The node flags a worker process starts with: the supervisor's own (`process.execArgv`,
 * e.g. a loader) plus `--max-semi-space-size` unless the user already chose one on the
 * command line or in NODE_OPTIONS, which then stands. V8 reads the flag only at startup
 * (`v8.setFlagsFromString` later has no effect), so it goes on the worker's command line.
 */
export function workerExecArgv(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string[] {
  const chosen = [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].some(
    (a) =>
      a === SEMI_SPACE_FLAG ||
      a.startsWith(`${SEMI_SPACE_FLAG}=`) ||
      a.startsWith("--max_semi_space_size"),
  );
  return chosen ? [...execArgv] : [...execArgv, `${SEMI_SPACE_FLAG}=${WORKER_SEMI_SPACE_MB}`];
}
