import type { LogClient } from "@tributary/log";

/**
 * The app's repartition-like and changelog topics: `<appId>-<name>-repartition|changelog`
 * and a foreign-key join's subscription topics.
 * Another app whose id extends this one (`orders` and `orders-enriched`) owns the topics
 * under its longer prefix; known groups tell which ids exist.
 */
export async function internalTopicsOf(log: LogClient, appId: string): Promise<string[]> {
  const prefix = `${appId}-`;
  const longer = (await log.admin.listGroups())
    .map((g) => `${g.groupId}-`)
    .filter((p) => p.length > prefix.length && p.startsWith(prefix));
  return (await log.admin.listTopics())
    .filter(
      (t) =>
        t.startsWith(prefix) &&
        /^.+-(repartition|changelog|subscription-registration-topic|subscription-response-topic)$/.test(
          t.slice(prefix.length),
        ) &&
        !longer.some((p) => t.startsWith(p)),
    )
    .sort();
}
