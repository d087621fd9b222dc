import type { ConnectTaskReport, ConnectorPlan } from "@tributary/connect";

/**
 * The final lines `tributary connect run` prints when it stops, from the counters every
 * worker process reported (the dead ones' included, see ConnectTaskTotals): one line of
 * run totals, then one per connector. Dead-lettered records and offsets lost to retention
 * are named even when zero, as `tributary run`'s summary names its drops: a count that
 * stays silent when it is not zero is a loss nobody sees.
 *
 *   stopped connectors: sources sent 760 records, sinks put 857; 3 dead-lettered; 0 lost to retention; 0 task restarts
 *     cdc (postgres-source, 1 task): sent 760 records (snapshot rows 700, changes 60); 0 task restarts
 *     copy (postgres-sink, 1 task): received 860, put 857 records; 3 dead-lettered to 'dlq'; 0 lost to retention; 0 task restarts
 */
export function describeConnectTotals(
  plans: readonly ConnectorPlan[],
  totals: ReadonlyMap<string, ConnectTaskReport>,
): string[] {
  const sum = (connector: string | undefined, name: string) => {
    let n = 0;
    for (const r of totals.values()) {
      if (connector === undefined || r.connector === connector) n += r.counters[name] ?? 0;
    }
    return n;
  };
  const lines = [
    `stopped connectors: sources sent ${records(sum(undefined, "records_sent"))}, sinks put ${sum(undefined, "records_put")}; ${sum(undefined, "records_dead_lettered")} dead-lettered; ${sum(undefined, "records_lost_to_retention")} lost to retention; ${sum(undefined, "task_restarts")} task restarts`,
  ];
  for (const plan of plans) {
    const n = (name: string) => sum(plan.name, name);
    const type = `${plan.connector.type}, ${plan.tasks.length} task${plan.tasks.length === 1 ? "" : "s"}`;
    const restarts = `${n("task_restarts")} task restarts`;
    if (plan.connector.kind === "source") {
      const detail = [
        ["snapshot_rows", "snapshot rows"],
        ["changes", "changes"],
        ["heartbeats", "heartbeats"],
      ]
        .filter(([name]) => n(name!) > 0)
        .map(([name, label]) => `${label} ${n(name!)}`);
      const of = detail.length === 0 ? "" : ` (${detail.join(", ")})`;
      lines.push(`  ${plan.name} (${type}): sent ${records(n("records_sent"))}${of}; ${restarts}`);
    } else {
      const to = plan.deadLetterTopic === undefined ? "" : ` to '${plan.deadLetterTopic}'`;
      lines.push(
        `  ${plan.name} (${type}): received ${n("records_received")}, put ${records(n("records_put"))}; ${n("records_dead_lettered")} dead-lettered${to}; ${n("records_lost_to_retention")} lost to retention; ${restarts}`,
      );
    }
  }
  return lines;
}

function records(n: number): string {
  return `${n} record${n === 1 ? "" : "s"}`;
}
