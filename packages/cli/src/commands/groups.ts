import type { Command } from "commander";
import { type LogFlags, addLogOptions, withLog } from "../log-flags.js";
import { oneOf } from "../flags.js";
import { printJson, printTable } from "../output.js";

interface FormatFlags extends LogFlags {
  format: string;
}

/** `tributary groups list|describe`: consumer groups (an app's group is its applicationId). */
export function registerGroupsCommand(program: Command): void {
  const groups = program.command("groups").description("list and describe consumer groups");

  addLogOptions(
    groups
      .command("list")
      .description("groups with their state and member count")
      .option("--format <text|json>", "output format", "text"),
  ).action(async (flags: FormatFlags) => {
    const format = oneOf("--format", flags.format, ["text", "json"] as const);
    const list = await withLog(flags, (log) => log.admin.listGroups());
    list.sort((a, b) => a.groupId.localeCompare(b.groupId));
    if (format === "json") return printJson(list);
    if (list.length === 0) return;
    printTable(
      ["group", "state", "members"],
      list.map((g) => [g.groupId, g.state, g.members]),
    );
  });

  addLogOptions(
    groups
      .command("describe <group>")
      .description("members and their assignment, committed offsets and lag per partition")
      .option("--format <text|json>", "output format", "text"),
  ).action(async (groupId: string, flags: FormatFlags) => {
    const format = oneOf("--format", flags.format, ["text", "json"] as const);
    const d = await withLog(flags, (log) => log.admin.describeGroup(groupId));
    if (format === "json") return printJson(d);
    const totalLag = d.offsets.reduce((n, o) => n + o.lag, 0);
    process.stdout.write(
      `group ${d.groupId}: ${d.state}, generation ${d.generation}, ${d.members.length} member${d.members.length === 1 ? "" : "s"}${d.assignor === null ? "" : `, assignor ${d.assignor}`}, total lag ${totalLag}\n`,
    );
    const owner = new Map<string, string>();
    for (const m of d.members) {
      for (const tp of m.assignment)
        owner.set(`${tp.topic}-${tp.partition}`, m.clientId || m.memberId);
    }
    if (d.members.length > 0) {
      process.stdout.write("\nmembers\n");
      printTable(
        ["member", "client", "assignment"],
        d.members.map((m) => [
          m.memberId,
          m.clientId,
          m.assignment.map((tp) => `${tp.topic}-${tp.partition}`).join(",") || "-",
        ]),
      );
    }
    if (d.offsets.length > 0) {
      process.stdout.write("\noffsets\n");
      printTable(
        ["topic", "partition", "committed", "end", "lag", "owner"],
        [...d.offsets]
          .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
          .map((o) => [
            o.topic,
            o.partition,
            o.offset,
            o.logEndOffset,
            o.lag,
            owner.get(`${o.topic}-${o.partition}`) ?? "-",
          ]),
      );
    }
  });
}
