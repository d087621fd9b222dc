import * as fs from "node:fs";
import * as readline from "node:readline";
import { InvalidArgumentError, type ProducerRecord, type RecordHeaders } from "@tributary/log";
import type { Command } from "commander";
import { type LogFlags, addLogOptions, withLog } from "../log-flags.js";
import { oneOf, parseInteger } from "../flags.js";
import { note } from "../output.js";
import { RecordCodec } from "../record-codec.js";
import { StoredLines } from "../stored-lines.js";

interface ProduceFlags extends LogFlags {
  file?: string;
  format: string;
  parseKey?: boolean;
  separator: string;
  keySerde: string;
  valueSerde: string;
  partition?: string;
  batchSize: string;
  skip?: string;
}

/*
 * Input line grammar, one record per line (empty lines are skipped):
 *   text                  => value
 *   text --parse-key      => key SEP value          (SEP is a tab unless --separator)
 *   json                  => {"key"?: any, "value": any, "timestamp"?: ms | ISO-8601,
 *                             "headers"?: {name: string}, "partition"?: int}
 * A JSON line's timestamp is kept as the record's event time, so a history exported with
 * `consume --format json` replays with the times it had.
 */
export function registerProduceCommand(program: Command): void {
  addLogOptions(
    program
      .command("produce <topic>")
      .description("append records to a topic, one per line, from stdin or --file")
      .option("--file <path>", "read lines from this file instead of stdin")
      .option(
        "--format <text|json>",
        "plain lines, or JSON lines {key,value,timestamp,headers}",
        "text",
      )
      .option("--parse-key", "text lines are key<TAB>value")
      .option("--separator <s>", "key/value separator for --parse-key", "\t")
      .option("--key-serde <serde>", "string, json, msgpack or bytes (base64)", "string")
      .option("--value-serde <serde>", "string, json, msgpack or bytes (base64)", "string")
      .option("--partition <n>", "append every record to this partition")
      .option("--batch-size <n>", "records per send", "5000")
      .option("--skip <n>", "skip the first n input lines (resume after an error or Ctrl-C)"),
  ).action(async (topic: string, flags: ProduceFlags) => {
    const format = oneOf("--format", flags.format, ["text", "json"] as const);
    const keys = RecordCodec.fromFlag("--key-serde", flags.keySerde, "key");
    const values = RecordCodec.fromFlag("--value-serde", flags.valueSerde, "value");
    const partition =
      flags.partition === undefined
        ? undefined
        : parseInteger("--partition", flags.partition, 0, 2 ** 31 - 1);
    const batchSize = parseInteger("--batch-size", flags.batchSize, 1, 1_000_000);
    if (flags.separator.length === 0)
      throw new InvalidArgumentError("--separator must not be empty");
    if (flags.file !== undefined && !fs.existsSync(flags.file)) {
      throw new InvalidArgumentError(`--file ${flags.file}: no such file`);
    }
    const parse =
      format === "json"
        ? (line: string, n: number) => parseJsonLine(line, n, keys, values)
        : flags.parseKey
          ? (line: string, n: number) => {
              const at = line.indexOf(flags.separator);
              if (at < 0) {
                throw new InvalidArgumentError(
                  `line ${n}: no key separator (${JSON.stringify(flags.separator)}): write key<TAB>value, or drop --parse-key`,
                );
              }
              return {
                key: keys.fromText(line.slice(0, at), n),
                value: values.fromText(line.slice(at + flags.separator.length), n),
              } as ProducerRecord;
            }
          : (line: string, n: number) => ({ value: values.fromText(line, n) }) as ProducerRecord;

    const skip =
      flags.skip === undefined ? 0 : parseInteger("--skip", flags.skip, 0, Number.MAX_SAFE_INTEGER);
    const input = flags.file === undefined ? process.stdin : fs.createReadStream(flags.file);
    // Ctrl-C stops reading; what was read is still sent, and the summary says how far it got.
    let lines: readline.Interface | undefined;
    let signal: NodeJS.Signals | undefined;
    const interrupt = (s: NodeJS.Signals) => {
      signal = s;
      lines?.close();
    };
    process.once("SIGINT", interrupt);
    process.once("SIGTERM", interrupt);
    const stored = await withLog(flags, async (log) => {
      // Fail on a missing topic before reading stdin: a user typing lines learns at once.
      const { config } = await log.admin.describeTopic(topic);
      const progress = new StoredLines(
        topic,
        config.cleanupPolicy === "compact" ? -1 : config.retentionMs,
      );
      const producer = log.producer({ clientId: "tributary-produce" });
      let batch: ProducerRecord[] = [];
      let n = 0;
      const send = async (lastLine: number) => {
        if (batch.length > 0) {
          try {
            await producer.send(topic, batch);
          } catch (err) {
            throw progress.refused(lastLine, err as Error);
          }
        }
        progress.sent(batch, lastLine);
        batch = [];
      };
      // Reading starts only now: lines read before the loop iterates would be lost.
      lines = readline.createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
      if (signal !== undefined) lines.close();
      try {
        for await (const line of lines) {
          n++;
          if (n <= skip || line.length === 0) continue;
          let record: ProducerRecord;
          try {
            record = parse(line, n);
          } catch (err) {
            // The lines before the bad one go in, so the error can say exactly where to
            // resume (--skip) once the line is fixed.
            await send(n - 1);
            throw progress.failedAt(n, err as Error);
          }
          if (partition !== undefined) record.partition = partition;
          batch.push(record);
          if (batch.length >= batchSize) await send(n);
        }
        await send(n);
      } finally {
        await producer.close();
      }
      return progress;
    });
    if (signal !== undefined) {
      note(
        `interrupted: ${stored.summary()}; ${stored.linesText()}: resume with --skip ${stored.lines}`,
      );
      process.exitCode = signal === "SIGINT" ? 130 : 143;
      return;
    }
    note(stored.summary());
  });
}

function parseJsonLine(
  line: string,
  n: number,
  keys: RecordCodec,
  values: RecordCodec,
): ProducerRecord {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (err) {
    throw new InvalidArgumentError(`line ${n}: not a JSON line (${(err as Error).message})`);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o) || !("value" in o)) {
    throw new InvalidArgumentError(
      `line ${n}: expected an object {"key","value","timestamp","headers"} with at least "value"`,
    );
  }
  const j = o as {
    key?: unknown;
    value: unknown;
    timestamp?: unknown;
    headers?: unknown;
    partition?: unknown;
  };
  const record: ProducerRecord = { key: keys.fromJson(j.key), value: values.fromJson(j.value) };
  if (j.timestamp !== undefined && j.timestamp !== null)
    record.timestamp = timestampOf(j.timestamp, n);
  if (j.headers !== undefined && j.headers !== null) record.headers = headersOf(j.headers, n);
  if (j.partition !== undefined && j.partition !== null) {
    if (!Number.isSafeInteger(j.partition) || (j.partition as number) < 0) {
      throw new InvalidArgumentError(`line ${n}: "partition" must be a non-negative integer`);
    }
    record.partition = j.partition as number;
  }
  return record;
}

function timestampOf(t: unknown, n: number): number {
  if (typeof t === "number" && Number.isSafeInteger(t) && t >= 0) return t;
  if (typeof t === "string") {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  throw new InvalidArgumentError(
    `line ${n}: "timestamp" must be epoch ms or an ISO-8601 date-time, got ${JSON.stringify(t)}`,
  );
}

function headersOf(h: unknown, n: number): RecordHeaders {
  if (typeof h !== "object" || Array.isArray(h) || h === null) {
    throw new InvalidArgumentError(`line ${n}: "headers" must be an object of strings`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (typeof v !== "string") {
      throw new InvalidArgumentError(`line ${n}: header "${k}" must be a string`);
    }
    out[k] = v;
  }
  return out;
}
