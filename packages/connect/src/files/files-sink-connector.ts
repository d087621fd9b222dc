import * as fs from "node:fs";
import * as path from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { type ConfigOf, validateConfig } from "../config-def.js";
import {
  type SinkRecord,
  type SinkTask,
  type TaskContext,
  defineSinkConnector,
} from "../connector.js";
import { asEnvelope } from "../postgres/change-envelope.js";
import { CommittedRanges, fileName, parseFileName } from "./committed-ranges.js";
import { toParquetColumns } from "./parquet-columns.js";

const CONFIG = {
  path: { type: "string", required: true, doc: "directory the files go under" },
  format: { type: "enum", values: ["jsonl", "parquet"], default: "jsonl", doc: "file format" },
} as const;

export type FilesSinkConfig = ConfigOf<typeof CONFIG>;

/**
 * Files for batch systems (`type: "files-sink"`): each record becomes one row, written
 * under `<path>/<topic>/dt=YYYY-MM-DD/hour=HH/` by its record time (UTC), in JSON lines
 * or Parquet. Every `put` writes its files whole — to a temp name, fsync, rename, fsync
 * of the directory — named after the topic, partition and offsets they hold, so a crash
 * leaves whole files or none, and a redelivered record already in a file is skipped.
 *
 * A row: the change's row (after, or before for a delete) plus `__op`, `__ts_ms`,
 * `__topic`, `__partition`, `__offset`; a plain JSON object as it is plus those; a
 * tombstone as `__op: "tombstone"` with the key's fields.
 */
export const filesSinkConnector = defineSinkConnector({
  type: "files-sink",
  config: CONFIG,
  createTask: () => new FilesSinkTask(),
});

export class FilesSinkTask implements SinkTask {
  private config!: FilesSinkConfig;
  private context!: TaskContext;
  private committed = new CommittedRanges();

  async start(raw: Record<string, unknown>, context: TaskContext): Promise<void> {
    this.config = validateConfig(CONFIG, raw, "config");
    this.context = context;
    fs.mkdirSync(this.config.path, { recursive: true });
    for (const entry of fs.readdirSync(this.config.path, {
      recursive: true,
      withFileTypes: true,
    })) {
      if (!entry.isFile()) continue;
      if (entry.name.startsWith(".tmp-")) {
        fs.rmSync(path.join(entry.parentPath, entry.name), { force: true });
        continue;
      }
      const f = parseFileName(entry.name);
      if (f !== undefined) this.committed.add(f.topic, f.partition, f.first, f.last);
    }
  }

  async put(records: SinkRecord[]): Promise<void> {
    // Contiguous runs per partition that share a time bucket: one file each.
    const runs: { dir: string; records: SinkRecord[] }[] = [];
    const open = new Map<string, { dir: string; records: SinkRecord[] }>();
    let skipped = 0;
    for (const r of records) {
      if (this.committed.has(r.topic, r.partition, r.offset)) {
        skipped++;
        continue;
      }
      const dir = path.join(this.config.path, r.topic, bucket(r.timestamp));
      const key = `${r.topic}\u0000${r.partition}`;
      const run = open.get(key);
      const prev = run?.records[run.records.length - 1];
      if (
        run !== undefined &&
        run.dir === dir &&
        prev !== undefined &&
        prev.offset + 1 >= r.offset
      ) {
        run.records.push(r);
      } else {
        const next = { dir, records: [r] };
        open.set(key, next);
        runs.push(next);
      }
    }
    if (skipped > 0) this.context.count("records_already_in_files", skipped);
    for (const run of runs) await this.writeFile(run.dir, run.records);
  }

  private async writeFile(dir: string, records: SinkRecord[]): Promise<void> {
    const first = records[0]!;
    const last = records[records.length - 1]!;
    const ext = this.config.format;
    const name = fileName(first.topic, first.partition, first.offset, last.offset, ext);
    fs.mkdirSync(dir, { recursive: true });
    const rows = records.map(toRow);
    const body =
      ext === "jsonl"
        ? Buffer.from(`${rows.map((r) => JSON.stringify(r)).join("\n")}\n`)
        : Buffer.from(parquetWriteBuffer({ columnData: toParquetColumns(rows) }));
    const tmp = path.join(dir, `.tmp-${name}`);
    const fd = fs.openSync(tmp, "w");
    try {
      fs.writeSync(fd, body);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path.join(dir, name));
    const dfd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
    this.committed.add(first.topic, first.partition, first.offset, last.offset);
    this.context.count("files_written");
    this.context.count("rows_written", rows.length);
  }

  async stop(): Promise<void> {}
}

function bucket(ts: number): string {
  const iso = new Date(ts).toISOString();
  return `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
}

type FileRow = Record<string, unknown>;

function toRow(r: SinkRecord): FileRow {
  const meta = { __topic: r.topic, __partition: r.partition, __offset: r.offset };
  const key = parseJson(r.key);
  if (r.value === null) {
    return {
      ...(isObject(key) ? key : { __key: r.key?.toString() ?? null }),
      __op: "tombstone",
      __ts_ms: r.timestamp,
      ...meta,
    };
  }
  const value = parseJson(r.value);
  const env = asEnvelope(value);
  if (env !== undefined) {
    return {
      ...(env.after ?? env.before ?? {}),
      __op: env.op,
      __ts_ms: env.source?.ts_ms ?? r.timestamp,
      ...meta,
    };
  }
  if (isObject(value)) return { ...value, __op: null, __ts_ms: r.timestamp, ...meta };
  return {
    __key: r.key?.toString() ?? null,
    __value: r.value.toString(),
    __op: null,
    __ts_ms: r.timestamp,
    ...meta,
  };
}

function parseJson(b: Buffer | null): unknown {
  if (b === null) return null;
  try {
    return JSON.parse(b.toString());
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is FileRow {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
