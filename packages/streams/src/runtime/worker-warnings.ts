import type { TaskManager } from "./task-manager.js";
import type { WarnFields } from "./worker-options.js";

/** What closing the tasks without a commit leaves to be processed again, for a warning. */
export function repeated(manager: TaskManager): string {
  const what = manager.uncommitted();
  return what === ""
    ? ""
    : `; processed since the last commit, to be processed again (at-least-once): ${what}`;
}

/** A warning's fields: what happened, the error's code, what is processed again. */
export function warnFields(event: string, e?: unknown, manager?: TaskManager): WarnFields {
  const fields: WarnFields = { event };
  const code = (e as { code?: unknown } | undefined)?.code;
  if (typeof code === "string") fields.code = code;
  const again = manager?.uncommittedCounts();
  if (again !== undefined && Object.keys(again).length > 0) fields.reprocessed = again;
  return fields;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
