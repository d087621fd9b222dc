import {
  type Consumer,
  type IsolationLevel,
  InvalidArgumentError,
  type LogClient,
  type LogRecord,
  type TopicPartition,
} from "@tributary/log";
import type { Command } from "commander";
import { type LogFlags, addLogOptions, withLog } from "../log-flags.js";
import { oneOf, parseDatetime, parseInteger } from "../flags.js";
import { LineWriter, note } from "../output.js";
import { RecordCodec } from "../record-codec.js";

interface ConsumeFlags extends LogFlags {
  group?: string;
  fromBeginning?: boolean;
  offset?: string;
  fromTime?: string;
  partition?: string;
  follow?: boolean;
  maxMessages?: string;
  format: string;
  printKey?: boolean;
  keySerde: string;
  valueSerde: string;
  isolation: string;
}

// A group member that is assigned nothing (others hold every partition) has nothing to
// catch up on; this many empty polls after joining is how long it waits to be sure.
const EMPTY_ASSIGNMENT_POLLS = 10;
// read_committed stops short of the log end while a transaction is open (its records and
// everything after wait for its end): this many empty polls in a row and it says so and
// stops, instead of waiting for a commit that may be far off.
const STALLED_POLLS = 10;

/*
 * Output line grammar:
 *   text         => value                      (key<TAB>value with --print-key)
 *   json         => {"topic","partition","offset","timestamp","key","value","headers"?}
 * JSON lines are what `produce --format json` reads back (it ignores topic and offset).
 */
export function registerConsumeCommand(program: Command): void {
  addLogOptions(
    program
      .command("consume <topic>")
      .description(
        "print a topic's records, up to its end (or --follow); from a group's position, the beginning, an offset or a time",
      )
      .option("--group <id>", "consume as a member of this group and commit its progress")
      .option("--from-beginning", "start at the earliest offset (a group: when it has no commit)")
      .option("--offset <n>", "start at this offset (with --partition, or in every partition)")
      .option(
        "--from-time <time>",
        "start at the first record at or after this time (ISO-8601 or epoch ms)",
      )
      .option("--partition <n>", "read only this partition")
      .option("--follow", "keep waiting for new records until Ctrl-C")
      .option("--max-messages <n>", "stop after this many records")
      .option("--format <text|json>", "output format", "text")
      .option("--print-key", "text lines are key<TAB>value")
      .option("--key-serde <serde>", "string, json, msgpack or bytes (base64)", "string")
      .option("--value-serde <serde>", "string, json, msgpack or bytes (base64)", "string")
      .option(
        "--isolation <level>",
        "read_uncommitted (every record) or read_committed (committed transactions only)",
        "read_uncommitted",
      ),
  ).action(async (topic: string, flags: ConsumeFlags) => {
    const format = oneOf("--format", flags.format, ["text", "json"] as const);
    const isolation = oneOf("--isolation", flags.isolation, [
      "read_uncommitted",
      "read_committed",
    ] as const);
    const keys = RecordCodec.fromFlag("--key-serde", flags.keySerde, "key");
    const values = RecordCodec.fromFlag("--value-serde", flags.valueSerde, "value");
    const starts = [flags.fromBeginning, flags.offset, flags.fromTime].filter(
      (f) => f !== undefined,
    );
    if (starts.length > 1) {
      throw new InvalidArgumentError(
        "--from-beginning, --offset and --from-time exclude each other: pick one",
      );
    }
    if (
      flags.group !== undefined &&
      (flags.offset !== undefined || flags.fromTime !== undefined || flags.partition !== undefined)
    ) {
      throw new InvalidArgumentError(
        "--group starts at the group's committed offsets: to move them use tributary reset (or drop --group)",
      );
    }
    const offset =
      flags.offset === undefined
        ? undefined
        : parseInteger("--offset", flags.offset, 0, Number.MAX_SAFE_INTEGER);
    const fromTime =
      flags.fromTime === undefined ? undefined : parseDatetime("--from-time", flags.fromTime);
    const only =
      flags.partition === undefined
        ? undefined
        : parseInteger("--partition", flags.partition, 0, 2 ** 31 - 1);
    const max =
      flags.maxMessages === undefined
        ? Number.POSITIVE_INFINITY
        : parseInteger("--max-messages", flags.maxMessages, 1, Number.MAX_SAFE_INTEGER);

    const out = new LineWriter();
    const format1 =
      format === "json"
        ? (tp: TopicPartition, r: LogRecord) => {
            const where = { topic: tp.topic, partition: tp.partition, offset: r.offset };
            const line: Record<string, unknown> = {
              topic: tp.topic,
              partition: tp.partition,
              offset: r.offset,
              timestamp: r.timestamp,
              key: keys.toJson(r.key, where),
              value: values.toJson(r.value, where),
            };
            const names = Object.keys(r.headers);
            if (names.length > 0) {
              const h: Record<string, string> = {};
              for (const n of names) h[n] = r.headers[n]!.toString("utf8");
              line.headers = h;
            }
            return JSON.stringify(line);
          }
        : flags.printKey
          ? (tp: TopicPartition, r: LogRecord) => {
              const where = { topic: tp.topic, partition: tp.partition, offset: r.offset };
              return `${keys.toText(r.key, where)}\t${values.toText(r.value, where)}`;
            }
          : (tp: TopicPartition, r: LogRecord) =>
              values.toText(r.value, {
                topic: tp.topic,
                partition: tp.partition,
                offset: r.offset,
              });

    let stopping = false;
    const stop = () => {
      stopping = true;
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);

    const printed = await withLog(flags, async (log) => {
      const partitions = (await log.admin.describeTopic(topic)).partitions.map((p) => p.partition);
      if (only !== undefined && !partitions.includes(only)) {
        throw new InvalidArgumentError(
          `--partition ${only}: ${topic} has partitions 0 to ${partitions.length - 1}`,
        );
      }
      const ends = new Map(
        (await log.admin.listOffsets(topic, "latest")).map((o) => [o.partition, o.offset]),
      );
      const consumer =
        flags.group === undefined
          ? await assignedConsumer(log, topic, only === undefined ? partitions : [only], {
              follow: flags.follow === true,
              fromBeginning: flags.fromBeginning === true,
              offset,
              fromTime,
              isolation,
            })
          : log.consumer({
              groupId: flags.group,
              clientId: "tributary-consume",
              isolation,
              autoOffsetReset: flags.fromBeginning || !flags.follow ? "earliest" : "latest",
            });
      if (flags.group !== undefined) await consumer.subscribe([topic]);
      let count = 0;
      let emptyAssignmentPolls = 0;
      let stalledPolls = 0;
      try {
        while (!stopping && !out.closed && count < max) {
          const fetched = await consumer.poll({ maxWaitMs: flags.follow ? 500 : 200 });
          for (const f of fetched) {
            const tp = { topic: f.topic, partition: f.partition };
            for (const r of f.records) {
              if (count >= max) {
                // The poll moved this partition past records that will not be printed:
                // back to the first of them, so the group's commit covers only what was.
                consumer.seek(tp, r.offset);
                break;
              }
              out.line(format1(tp, r));
              count++;
            }
            await out.maybeFlush();
          }
          await out.flush();
          if (flags.group !== undefined && fetched.length > 0) await consumer.commit();
          if (flags.follow) continue;
          const assigned = consumer.assignment();
          if (assigned.length === 0) {
            if (flags.group !== undefined && ++emptyAssignmentPolls >= EMPTY_ASSIGNMENT_POLLS)
              break;
            continue;
          }
          if (assigned.every((tp) => (consumer.position(tp) ?? 0) >= (ends.get(tp.partition) ?? 0)))
            break;
          stalledPolls = fetched.length > 0 ? 0 : stalledPolls + 1;
          if (isolation === "read_committed" && stalledPolls >= STALLED_POLLS) {
            note(
              "stopped at the last stable offset: a transaction is still open, and what follows it is readable once it ends",
            );
            break;
          }
        }
        if (flags.group !== undefined && consumer.assignment().length > 0) await consumer.commit();
      } finally {
        await out.flush();
        await consumer.close();
      }
      return count;
    });
    note(`consumed ${printed} record${printed === 1 ? "" : "s"} from ${topic}`);
  });
}

async function assignedConsumer(
  log: LogClient,
  topic: string,
  partitions: number[],
  start: {
    follow: boolean;
    fromBeginning: boolean;
    offset?: number;
    fromTime?: number;
    isolation: IsolationLevel;
  },
): Promise<Consumer> {
  const consumer = log.consumer({ clientId: "tributary-consume", isolation: start.isolation });
  const tps = partitions.map((partition) => ({ topic, partition }));
  consumer.assign(tps);
  const earliest = new Map(
    (await log.admin.listOffsets(topic, "earliest")).map((o) => [o.partition, o.offset]),
  );
  const latest = new Map(
    (await log.admin.listOffsets(topic, "latest")).map((o) => [o.partition, o.offset]),
  );
  let byTime: Map<number, number> | undefined;
  if (start.fromTime !== undefined) {
    byTime = new Map(
      (await log.admin.listOffsets(topic, { timestamp: start.fromTime })).map((o) => [
        o.partition,
        o.offset,
      ]),
    );
  }
  for (const tp of tps) {
    const lo = earliest.get(tp.partition) ?? 0;
    const hi = latest.get(tp.partition) ?? lo;
    let at: number;
    if (start.offset !== undefined && partitions.length > 1) {
      // One offset for every partition: each starts there, or at its nearest end.
      at = Math.min(Math.max(start.offset, lo), hi);
    } else if (start.offset !== undefined) {
      if (start.offset < lo || start.offset > hi) {
        throw new InvalidArgumentError(
          `--offset ${start.offset} is outside ${topic}-${tp.partition}, which holds offsets ${lo} to ${hi}: pick one in range`,
        );
      }
      at = start.offset;
    } else if (byTime !== undefined) {
      const t = byTime.get(tp.partition) ?? -1;
      at = t < 0 ? hi : t;
    } else if (start.fromBeginning || !start.follow) at = lo;
    else at = hi;
    consumer.seek(tp, at);
  }
  return consumer;
}
