import { type IsolationLevel, type LogClient, Serdes } from "@tributary/log";
import { readTopic } from "./runtime-helpers.js";

/**
 * Reading back what fixtures/upper-case-app.ts did: it maps `names-in` to `names-out`
 * (each value upper-cased) as application "upper-case-app".
 */
const str = Serdes.string();

/** Every value in names-out, in each partition's order, copies included. */
export async function nameOutputs(
  log: LogClient,
  isolation: IsolationLevel = "read_uncommitted",
): Promise<string[]> {
  return (await readTopic(log, "names-out", str, str, isolation)).records.map((r) => r.value!);
}

/** Input records the app's committed offsets on names-in cover (0 before the first commit). */
export async function committedInputs(log: LogClient): Promise<number> {
  const committed = await log.admin.fetchCommittedOffsets("upper-case-app", ["names-in"]);
  return committed.reduce((n, c) => n + Math.max(0, c.offset), 0);
}
