import type { LogClient } from "@tributary/log";
import type { App, InputLimit } from "@tributary/streams";

const REFRESH_MS = 500;

/**
 * The input limit of a shadow version: the live app's committed offsets on its inputs,
 * refreshed every 500 ms. A partition the live app has committed nothing on is held at 0:
 * the shadow never gets ahead of the live app, so that at a promote it can stop exactly
 * where the live app stopped.
 */
export async function trailLimit(
  log: LogClient,
  live: App,
): Promise<{ limit: InputLimit; close: () => void }> {
  const inputs = live.build().sourceTopics();
  let committed = new Map<string, number>();
  const refresh = async () => {
    const next = new Map<string, number>();
    for (const c of await log.admin.fetchCommittedOffsets(live.applicationId, inputs)) {
      next.set(`${c.topic}\0${c.partition}`, c.offset);
    }
    committed = next;
  };
  await refresh();
  let closed = false;
  const loop = async () => {
    while (!closed) {
      await new Promise((resolve) => setTimeout(resolve, REFRESH_MS).unref());
      // the broker busy or restarting: keep the last offsets, which only ever lag behind
      await refresh().catch(() => {});
    }
  };
  void loop();
  return {
    limit: (topic, partition) => committed.get(`${topic}\0${partition}`) ?? 0,
    close: () => {
      closed = true;
    },
  };
}
