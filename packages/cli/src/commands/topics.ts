import {
  DEFAULT_TOPIC_CONFIG,
  MAX_PARTITIONS,
  type TopicConfig,
  kafkaConfigName,
  parseTopicConfigEntries,
} from "@tributary/log";
import type { Command } from "commander";
import { type LogFlags, addLogOptions, withLog } from "../log-flags.js";
import { collectKeyValue, oneOf, parseInteger } from "../flags.js";
import { note, printJson, printTable } from "../output.js";

interface CreateFlags extends LogFlags {
  partitions: string;
  config?: Record<string, string>;
  ifNotExists?: boolean;
}

interface ListFlags extends LogFlags {
  internal?: boolean;
  format: string;
}

interface DescribeFlags extends LogFlags {
  format: string;
}

/** `tributary topics create|list|describe|delete`: topic administration. */
export function registerTopicsCommand(program: Command): void {
  const topics = program.command("topics").description("create, list, describe and delete topics");

  addLogOptions(
    topics
      .command("create <topic>")
      .description("create a topic")
      .option("--partitions <n>", "number of partitions", "1")
      .option("--config <name=value>", "topic config by Kafka name (repeatable)", collectKeyValue)
      .option("--if-not-exists", "succeed quietly when the topic exists"),
  ).action(async (topic: string, flags: CreateFlags) => {
    const partitions = parseInteger("--partitions", flags.partitions, 1, MAX_PARTITIONS);
    const config = parseTopicConfigEntries(flags.config ?? {});
    await withLog(flags, (log) =>
      log.admin.createTopic(topic, { partitions, config, ifNotExists: flags.ifNotExists }),
    );
    note(`created topic ${topic} with ${partitions} partition${partitions === 1 ? "" : "s"}`);
  });

  addLogOptions(
    topics
      .command("list")
      .description("list topics, one per line")
      .option("--internal", "include internal topics (__consumer_offsets)")
      .option("--format <text|json>", "output format", "text"),
  ).action(async (flags: ListFlags) => {
    const format = oneOf("--format", flags.format, ["text", "json"] as const);
    const names = await withLog(flags, (log) =>
      log.admin.listTopics({ includeInternal: flags.internal === true }),
    );
    if (format === "json") printJson(names);
    else if (names.length > 0) process.stdout.write(`${names.join("\n")}\n`);
  });

  addLogOptions(
    topics
      .command("describe <topic>")
      .description("partitions (start/end offsets, size, segments) and config of a topic")
      .option("--format <text|json>", "output format", "text"),
  ).action(async (topic: string, flags: DescribeFlags) => {
    const format = oneOf("--format", flags.format, ["text", "json"] as const);
    const d = await withLog(flags, (log) => log.admin.describeTopic(topic));
    if (format === "json") return printJson(d);
    const total = d.partitions.reduce((n, p) => n + p.logEndOffset - p.logStartOffset, 0);
    process.stdout.write(
      `topic ${d.name}: ${d.partitions.length} partition${d.partitions.length === 1 ? "" : "s"}, ${total} records held${d.internal ? ", internal" : ""}\n`,
    );
    printTable(
      ["partition", "start", "end", "records", "bytes", "segments"],
      d.partitions.map((p) => [
        p.partition,
        p.logStartOffset,
        p.logEndOffset,
        p.logEndOffset - p.logStartOffset,
        p.sizeBytes,
        p.segments,
      ]),
    );
    const changed = configEntries(d.config).filter(([, , isDefault]) => !isDefault);
    process.stdout.write(
      changed.length === 0
        ? "config: defaults\n"
        : `config: ${changed.map(([k, v]) => `${k}=${v}`).join(" ")}\n`,
    );
  });

  addLogOptions(topics.command("delete <topic>").description("delete a topic and its data")).action(
    async (topic: string, flags: LogFlags) => {
      await withLog(flags, (log) => log.admin.deleteTopic(topic));
      note(`deleted topic ${topic}`);
    },
  );
}

function configEntries(config: TopicConfig): [string, string, boolean][] {
  return (Object.keys(config) as (keyof TopicConfig)[]).map((field) => [
    kafkaConfigName(field),
    String(config[field]),
    config[field] === DEFAULT_TOPIC_CONFIG[field],
  ]);
}
