import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pLimit from "p-limit";
import type { Logger } from "pino";
import {
  ClosedError,
  CorruptRecordError,
  InvalidArgumentError,
  InvalidNameError,
  TopicExistsError,
  TributaryError,
  UnknownTopicError,
} from "../errors.js";
import { fsyncDir, writeFileDurably } from "./durable-file.js";
import { quoteName, validateTopicName } from "../names.js";
import { PartitionLog } from "./partition-log.js";
import {
  kafkaConfigName,
  MAX_MESSAGE_BYTES_LIMIT,
  resolveTopicConfig,
  type TopicConfig,
} from "../topic-config.js";

export const MAX_PARTITIONS = 10_000;

/** A topic as the registry knows it. */
export interface TopicMetadata {
  name: string;
  partitions: number;
  config: TopicConfig;
  /** ms since the epoch */
  createdAt: number;
}

export interface TopicRegistryOptions {
  now?: () => number;
  /** Given to every partition log: retention deletions, write stalls, truncations and damage. */
  logger?: Logger;
  /** Given to every partition log (producer.id.expiration.ms); default one day. */
  producerIdExpirationMs?: number;
}

interface TopicEntry {
  meta: TopicMetadata;
  logs: PartitionLog[];
}

const META_SUFFIX = ".topic.json";
/** Partition logs closing at once: enough to keep the disk's queue full. */
const CLOSE_CONCURRENCY = 64;
const DELETE_SUFFIX = "-delete";
const _TMP_SUFFIX = ".tmp";

/**
 * TopicRegistry owns the topics of one data directory. It is responsible for:
 * - the on-disk layout: `<data>/<topic>.topic.json` (metadata) and `<data>/<topic>-<p>/`
 *   (one PartitionLog each, whose contents are the PartitionLog's business);
 * - creating, reconfiguring and deleting topics so that a crash at any point leaves each
 *   topic either whole or absent;
 * - opening every partition's log on open, and closing them on close;
 * - never building a path outside the data directory from a topic name.
 *
 * Crash safety:
 * - create writes the metadata first (temp file, fsync, rename, fsync the directory):
 *   that rename is the commit point. Partition directories are created after it, and
 *   again on open if missing, so a crash leaves either no topic or an empty whole one.
 * - delete closes the logs, then renames the metadata to
 *   `<topic>.topic.json.<random>-delete` (from here the topic is gone for every reader),
 *   renames each partition directory to `<topic>-<p>.<random>-delete`, removes those, and
 *   removes the renamed metadata last. open() finishes any delete it finds a marker for
 *   and removes leftover `-delete` directories and stray temp files.
 *
 * Not thread-safe; one registry per data directory, under its DirLock.
 */
export class TopicRegistry {
  private closed = false;
  /** Topics whose delete is still closing their logs: their directories are not free yet. */
  private readonly deleting = new Set<string>();

  private constructor(
    readonly dataDir: string,
    private readonly topics: Map<string, TopicEntry>,
    private readonly now: () => number,
    private readonly logger: Logger | undefined,
    private readonly producerIdExpirationMs: number | undefined,
  ) {}

  /** Loads every topic of `dataDir` (created if missing) and opens its partition logs. */
  static open(dataDir: string, options: TopicRegistryOptions = {}): TopicRegistry {
    const dir = path.resolve(dataDir);
    fs.mkdirSync(dir, { recursive: true });
    const now = options.now ?? Date.now;
    cleanLeftovers(dir);
    const topics = new Map<string, TopicEntry>();
    try {
      for (const file of fs.readdirSync(dir).sort()) {
        if (!file.endsWith(META_SUFFIX)) continue;
        const meta = readMetadata(dir, file, options.logger);
        topics.set(meta.name, {
          meta,
          logs: openLogs(dir, meta, now, options.logger, options.producerIdExpirationMs),
        });
      }
    } catch (e) {
      for (const t of topics.values()) for (const log of t.logs) void log.close();
      throw e;
    }
    return new TopicRegistry(dir, topics, now, options.logger, options.producerIdExpirationMs);
  }

  /** Creates a topic with `partitions` empty partitions; TopicExistsError if it exists. */
  create(
    name: string,
    options: { partitions: number; config?: Partial<TopicConfig> },
  ): TopicMetadata {
    this.checkOpen();
    validateTopicName(name);
    const { partitions } = options;
    if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
      throw new InvalidArgumentError(
        `topic '${name}': partitions=${partitions}: expected an integer from 1 to ${MAX_PARTITIONS}`,
      );
    }
    const config = resolveTopicConfig(options.config);
    if (this.topics.has(name)) throw new TopicExistsError(name);
    if (this.deleting.has(name)) {
      throw new TributaryError(
        "TOPIC_EXISTS",
        `topic '${name}' is being deleted: retry the create once the delete has finished`,
        { retriable: true },
      );
    }
    const meta: TopicMetadata = { name, partitions, config, createdAt: this.now() };
    writeMetadata(this.dataDir, meta);
    let logs: PartitionLog[];
    try {
      logs = openLogs(this.dataDir, meta, this.now, this.logger, this.producerIdExpirationMs);
    } catch (e) {
      // Undo the commit so a failed create leaves no topic behind.
      fs.rmSync(this.path(name, META_SUFFIX), { force: true });
      throw e;
    }
    this.topics.set(name, { meta, logs });
    return copyMeta(meta);
  }

  /** Deletes a topic and its data. */
  async delete(name: string): Promise<void> {
    this.checkOpen();
    const entry = this.entry(name);
    this.topics.delete(name);
    // Until the directories are renamed away, a create of the same name would open them.
    this.deleting.add(name);
    try {
      await this.removeFiles(name, entry);
    } finally {
      this.deleting.delete(name);
    }
  }

  private async removeFiles(name: string, entry: TopicEntry): Promise<void> {
    await Promise.all(entry.logs.map((log) => log.close()));
    const tag = randomBytes(6).toString("hex");
    const marker = this.path(name, `${META_SUFFIX}.${tag}${DELETE_SUFFIX}`);
    fs.renameSync(this.path(name, META_SUFFIX), marker);
    fsyncDir(this.dataDir);
    const doomed: string[] = [];
    for (let p = 0; p < entry.meta.partitions; p++) {
      const live = this.path(name, `-${p}`);
      const gone = this.path(name, `-${p}.${tag}${DELETE_SUFFIX}`);
      if (renameIfExists(live, gone)) doomed.push(gone);
    }
    fsyncDir(this.dataDir);
    for (const d of doomed) fs.rmSync(d, { recursive: true, force: true });
    fs.rmSync(marker, { force: true });
    fsyncDir(this.dataDir);
  }

  /** Topic names, sorted. */
  list(): string[] {
    return [...this.topics.keys()].sort();
  }

  has(name: string): boolean {
    return this.topics.has(name);
  }

  /** The topic's metadata; UnknownTopicError if there is no such topic. */
  get(name: string): TopicMetadata {
    return copyMeta(this.entry(name).meta);
  }

  /** The log of one partition; UnknownTopicError for a missing topic or partition. */
  partition(name: string, partition: number): PartitionLog {
    const entry = this.topics.get(name);
    if (entry === undefined) return this.entry(name).logs[0]!; // throws the fitting error
    const log = entry.logs[partition];
    if (log === undefined) throw new UnknownTopicError(name, partition);
    return log;
  }

  /** Changes some of a topic's config; the rest stays. Returns the resulting config. */
  updateConfig(name: string, partial: Partial<TopicConfig>): TopicConfig {
    this.checkOpen();
    const entry = this.entry(name);
    const config = resolveTopicConfig({ ...entry.meta.config, ...partial });
    const meta = { ...entry.meta, config };
    writeMetadata(this.dataDir, meta);
    entry.meta = meta;
    for (const log of entry.logs) log.updateConfig(config);
    return { ...config };
  }

  /**
   * Closes every partition log, CLOSE_CONCURRENCY at a time: their fsyncs overlap (a
   * broker of 10,000 partitions stops in seconds, not minutes) while the descriptors a
   * close opens (index files, checkpoint, directory) stay few. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const logs = [...this.topics.values()].flatMap((t) => t.logs);
    this.topics.clear();
    const limit = pLimit(CLOSE_CONCURRENCY);
    await Promise.all(logs.map((log) => limit(() => log.close())));
  }

  private entry(name: string): TopicEntry {
    const entry = this.topics.get(name);
    if (entry === undefined) {
      if (this.closed) throw new ClosedError(`the topic registry of ${this.dataDir}`);
      throw new UnknownTopicError(name);
    }
    return entry;
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError(`the topic registry of ${this.dataDir}`);
  }

  private path(name: string, suffix: string): string {
    return topicPath(this.dataDir, name, suffix);
  }
}

/**
 * The one place a topic name becomes a path. The name rules already forbid separators
 * and traversal; the resolve-and-compare is a second guard should they ever loosen.
 */
function topicPath(dataDir: string, name: string, suffix: string): string {
  validateTopicName(name);
  const p = path.resolve(dataDir, name + suffix);
  if (path.dirname(p) !== dataDir || !p.startsWith(dataDir + path.sep)) {
    throw new InvalidNameError(
      "INVALID_TOPIC_NAME",
      `topic name ${quoteName(name)} would resolve to ${p}, outside the data directory ${dataDir}`,
    );
  }
  return p;
}

function openLogs(
  dir: string,
  meta: TopicMetadata,
  now: () => number,
  logger: Logger | undefined,
  producerIdExpirationMs: number | undefined,
): PartitionLog[] {
  const logs: PartitionLog[] = [];
  try {
    for (let p = 0; p < meta.partitions; p++) {
      const partitionDir = topicPath(dir, meta.name, `-${p}`);
      mkdirPartition(partitionDir, meta.name, p);
      logs.push(
        PartitionLog.open(partitionDir, {
          topic: meta.name,
          partition: p,
          config: meta.config,
          now,
          logger,
          ...(producerIdExpirationMs === undefined ? {} : { producerIdExpirationMs }),
        }),
      );
    }
  } catch (e) {
    for (const log of logs) void log.close();
    throw e;
  }
  return logs;
}

/**
 * Creates a partition's directory if missing. A file in its place (a stray copy, a file a
 * tool wrote) fails the open naming it, where mkdir's bare EEXIST named neither the topic
 * nor what to do.
 */
function mkdirPartition(partitionDir: string, topic: string, partition: number): void {
  try {
    fs.mkdirSync(partitionDir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EEXIST" && code !== "ENOTDIR") throw e;
    throw new CorruptRecordError(
      `partition ${partition} of topic '${topic}' should be the directory ${partitionDir}, but a file is there: move that file out of the data directory (the partition's records are not in it) and start again`,
    );
  }
}

/*
 * Topic metadata format: `<data>/<topic>.topic.json`, one JSON object, UTF-8.
 *   TopicMetadata => { "name": string, "partitions": int 1..10000,
 *                      "config": TopicConfig (field names as in topic-config.ts),
 *                      "createdAt": int (ms since the epoch) }
 * Written to `<topic>.topic.json.<random>.tmp`, fsynced, renamed over the old file, and
 * the directory fsynced, so a reader sees the old or the new file, never a torn one.
 */
function writeMetadata(dir: string, meta: TopicMetadata): void {
  writeFileDurably(
    topicPath(dir, meta.name, META_SUFFIX),
    `${JSON.stringify(meta, null, 2)}\n`,
    0o644,
  );
}

function readMetadata(dir: string, file: string, logger: Logger | undefined): TopicMetadata {
  const name = file.slice(0, -META_SUFFIX.length);
  const where = path.join(dir, file);
  const corrupt = (why: string) =>
    new CorruptRecordError(
      `topic metadata ${where} ${why}: restore the file from a backup, or remove it and the topic's ${name}-<partition> directories to drop the topic`,
    );
  try {
    validateTopicName(name);
  } catch {
    throw corrupt(`is named for an invalid topic ${quoteName(name)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(where, "utf8"));
  } catch (e) {
    throw corrupt(`is not valid JSON (${(e as Error).message})`);
  }
  const m = raw as Partial<TopicMetadata> | null;
  if (typeof m !== "object" || m === null) throw corrupt("is not a JSON object");
  if (m.name !== name) throw corrupt(`names topic ${JSON.stringify(m.name)}, not '${name}'`);
  if (
    typeof m.partitions !== "number" ||
    !Number.isSafeInteger(m.partitions) ||
    m.partitions < 1 ||
    m.partitions > MAX_PARTITIONS
  ) {
    throw corrupt(`has partitions=${JSON.stringify(m.partitions)}`);
  }
  let config: TopicConfig;
  const stored = { ...m.config } as Partial<TopicConfig>;
  if (
    typeof stored.maxMessageBytes === "number" &&
    stored.maxMessageBytes > MAX_MESSAGE_BYTES_LIMIT
  ) {
    // Accepted before the limit existed: served as the limit, so that no record too large
    // to fetch over the broker is stored from now on.
    logger?.warn(
      { event: "config-lowered", topic: name, stored: stored.maxMessageBytes },
      `topic '${name}': ${kafkaConfigName("maxMessageBytes")}=${stored.maxMessageBytes} is above the largest a broker can serve; using ${MAX_MESSAGE_BYTES_LIMIT}`,
    );
    stored.maxMessageBytes = MAX_MESSAGE_BYTES_LIMIT;
  }
  try {
    config = resolveTopicConfig(stored);
  } catch (e) {
    throw corrupt(`has an invalid config (${(e as Error).message})`);
  }
  const createdAt = typeof m.createdAt === "number" ? m.createdAt : 0;
  return { name, partitions: m.partitions, config, createdAt };
}

/**
 * Finishes interrupted deletes and removes temp files, before any topic is loaded:
 * - `<topic>.topic.json.<tag>-delete` markers: that topic's `<topic>-<p>` directories are
 *   removed (unless the topic was created anew, i.e. `<topic>.topic.json` exists), then
 *   the marker;
 * - `<name>.<tag>-delete` directories are removed;
 * - `<topic>.topic.json.<tag>.tmp` files (a crash inside writeMetadata) are removed.
 */
function cleanLeftovers(dir: string): void {
  const entries = fs.readdirSync(dir);
  let changed = false;
  const markers: string[] = [];
  for (const f of entries) {
    const mm = /^(.+)\.topic\.json\.[0-9a-f]+-delete$/.exec(f);
    if (mm !== null) markers.push(f);
  }
  for (const marker of markers) {
    const name = marker.slice(0, marker.indexOf(META_SUFFIX));
    if (!isSafeName(name)) continue;
    if (!fs.existsSync(topicPath(dir, name, META_SUFFIX))) {
      const prefix = `${name}-`;
      for (const f of entries) {
        if (f.startsWith(prefix) && /^\d+$/.test(f.slice(prefix.length))) {
          fs.rmSync(topicPath(dir, name, f.slice(name.length)), { recursive: true, force: true });
        }
      }
    }
    fs.rmSync(path.join(dir, marker), { force: true });
    changed = true;
  }
  for (const f of entries) {
    const full = path.join(dir, f);
    if (/^.+-\d+\.[0-9a-f]+-delete$/.test(f)) {
      fs.rmSync(full, { recursive: true, force: true });
      changed = true;
    } else if (/^.+\.topic\.json\.[0-9a-f]+\.tmp$/.test(f)) {
      fs.rmSync(full, { force: true });
      changed = true;
    }
  }
  if (changed) fsyncDir(dir);
}

function isSafeName(name: string): boolean {
  try {
    validateTopicName(name);
    return true;
  } catch {
    return false;
  }
}

function renameIfExists(from: string, to: string): boolean {
  try {
    fs.renameSync(from, to);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

function copyMeta(meta: TopicMetadata): TopicMetadata {
  return { ...meta, config: { ...meta.config } };
}
