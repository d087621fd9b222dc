import * as fs from "node:fs";
import type { LogClient } from "@tributary/log";
import type { Topology } from "@tributary/streams";
import type { Command } from "commander";
import { type LogFlags, addLogOptions, openCliLog } from "../log-flags.js";
import { loadApp } from "../load-app.js";

interface DescribeFlags extends LogFlags {
  mermaid?: boolean;
}

/**
 * `tributary describe app.ts`: the compiled topology as text (sub-topologies, nodes,
 * stores, internal topics), the tasks it makes on the log at hand, or with --mermaid a
 * Mermaid flowchart to paste into Markdown.
 */
export function registerDescribeCommand(program: Command): void {
  addLogOptions(
    program
      .command("describe <app>")
      .description(
        "print an app's compiled topology: sub-topologies, stores, internal topics, tasks",
      )
      .option("--mermaid", "print a Mermaid flowchart instead of text"),
  ).action(async (file: string, flags: DescribeFlags) => {
    const { app, topology } = await loadApp(file);
    const description = topology.describe();
    if (flags.mermaid) {
      process.stdout.write(description.toMermaid());
      return;
    }
    const out: string[] = [`app ${app.applicationId} (consumer group ${app.applicationId})`, ""];
    out.push(description.toString().trimEnd(), "");
    out.push(`input topics: ${list(topology.sourceTopics())}`);
    out.push(`output topics: ${list(topology.sinkTopics())}`);
    out.push("internal topics:");
    if (description.internalTopics.length === 0) out.push("  none");
    for (const t of description.internalTopics) out.push(`  ${t.name} (${t.purpose})`);
    out.push("stores:");
    if (description.stores.length + description.globalStores.length === 0) out.push("  none");
    for (const s of description.stores) {
      out.push(
        `  ${s.name} in sub-topology ${s.subtopology}, changelog ${s.changelogTopic ?? "none"}`,
      );
    }
    for (const g of description.globalStores) {
      out.push(`  ${g.name} global (all partitions on every worker), read from ${g.topic}`);
    }
    out.push(...(await taskLines(topology, flags)));
    process.stdout.write(`${out.join("\n")}\n`);
  });
}

/**
 * Tasks depend on partition counts, which the log knows: listed when the log can be
 * reached without creating anything (a broker, or an existing data dir).
 */
async function taskLines(topology: Topology, flags: LogFlags): Promise<string[]> {
  if (flags.broker === undefined && !fs.existsSync(flags.data)) {
    return ["tasks: one per sub-topology per input partition (no log at hand to count partitions)"];
  }
  let log: LogClient;
  try {
    log = await openCliLog(flags);
  } catch (err) {
    return [`tasks: unknown (${(err as Error).message})`];
  }
  try {
    const counts = new Map<string, number>();
    const missing: string[] = [];
    for (const s of topology.subtopologies) {
      for (const t of s.sourceTopics) {
        if (counts.has(t)) continue;
        try {
          counts.set(t, (await log.admin.describeTopic(t)).partitions.length);
        } catch {
          const internal = topology.internalTopics.find((i) => i.name === t);
          if (internal === undefined) missing.push(t);
          counts.set(t, internal?.partitions ?? 0);
        }
      }
    }
    if (missing.length > 0)
      return [`tasks: unknown until the input topics exist (${missing.join(", ")})`];
    // A repartition topic not created yet gets as many partitions as its writer has tasks.
    for (const s of topology.subtopologies) {
      for (const t of s.sourceTopics) {
        if ((counts.get(t) ?? 0) > 0) continue;
        const writer = topology.subtopologies.find((w) => w.sinkTopics.includes(t));
        const n =
          writer === undefined
            ? 1
            : Math.max(...writer.sourceTopics.map((x) => counts.get(x) ?? 1));
        counts.set(t, n);
      }
    }
    const ids = topology.taskIds((t) => counts.get(t) ?? 1);
    return [`tasks (${ids.length}): ${ids.join(" ")}`];
  } finally {
    await log.close();
  }
}

function list(names: string[]): string {
  return names.length === 0 ? "none" : names.join(", ");
}
