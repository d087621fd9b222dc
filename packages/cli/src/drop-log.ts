import type { WorkerMetrics } from "@tributary/streams";
import type { Logger } from "pino";

type Drops = { deadLettered: number; deserializationFailed: number; droppedLate: number };

/**
 * Logs the records a worker dropped since its last report, one warning per task (or one
 * for the worker, when it does not count per task, as connect workers do), so no drop goes
 * without a line beside the run's summary:
 *   {"event":"records-dropped","task":"0_1","deadLettered":2,"deserializationFailed":1,
 *    "droppedLate":0,"deadLetteredTotal":5,…}
 * Returns what to pass as `seen` next time.
 */
export function logNewDrops(
  logger: Logger,
  seen: ReadonlyMap<string, Drops>,
  metrics: WorkerMetrics,
  deadLetterTopic: string | undefined,
): Map<string, Drops> {
  const now = new Map<string, Drops>(Object.entries(metrics.taskMetrics));
  if (now.size === 0) now.set("", metrics);
  for (const [task, d] of now) {
    const before = seen.get(task) ?? { deadLettered: 0, deserializationFailed: 0, droppedLate: 0 };
    const deadLettered = d.deadLettered - before.deadLettered;
    const droppedLate = d.droppedLate - before.droppedLate;
    if (deadLettered <= 0 && droppedLate <= 0) continue;
    const where = task === "" ? "" : `task ${task}: `;
    const to = deadLetterTopic === undefined ? "" : ` to '${deadLetterTopic}'`;
    logger.warn(
      {
        event: "records-dropped",
        ...(task === "" ? {} : { task }),
        deadLettered,
        deserializationFailed: d.deserializationFailed - before.deserializationFailed,
        droppedLate,
        deadLetteredTotal: d.deadLettered,
        droppedLateTotal: d.droppedLate,
      },
      `${where}${deadLettered} record${deadLettered === 1 ? "" : "s"} dead-lettered${to}, ${droppedLate} dropped as late (their window had closed)`,
    );
  }
  return new Map([...now].map(([k, d]) => [k, { ...d }]));
}
