import { InvalidArgumentError } from "@tributary/log";
import {
  QueryError,
  querySecretFromEnv,
  RoutedQueries,
  type RoutedResult,
} from "@tributary/streams";
import type { Command } from "commander";
import { parseDatetime, parseInteger } from "../flags.js";
import { type LogFlags, addLogOptions, withLog } from "../log-flags.js";

interface QueryFlags extends LogFlags {
  key?: string;
  from?: string;
  to?: string;
  all?: boolean;
  jsonKeys?: boolean;
  timeFrom?: string;
  timeTo?: string;
  limit?: string;
  allowStale?: boolean;
  timeoutMs: string;
}

/**
 * `tributary query <app> <store>`: reads an app's store from its running workers
 * (docs/interactive-queries.md) and prints JSON lines: `--key` one line for the key
 * (key-value: its value or found false; window and session stores: one line per window
 * or session of the key, within --time-from/--time-to), `--from/--to` the keys between
 * (inclusive), `--all` every entry. Keys are strings unless --json-keys (then JSON, e.g.
 * 42 or {"id":1}); the worker encodes them with the store's key serde. Entries come in
 * serialized-key order, merged from every worker. The query secret comes from
 * TRIBUTARY_QUERY_SECRET or TRIBUTARY_QUERY_SECRET_FILE, as for the workers.
 */
export function registerQueryCommand(program: Command): void {
  addLogOptions(
    program
      .command("query <app> <store>")
      .description("read a running app's state store: a key, a key range, or all of it")
      .option("--key <key>", "the key to read (window and session stores: its windows)")
      .option("--from <key>", "range: the first key (inclusive)")
      .option("--to <key>", "range: the last key (inclusive)")
      .option("--all", "every entry of the store")
      .option("--json-keys", "--key, --from and --to are JSON (default: strings)")
      .option("--time-from <time>", "window and session stores: from this time (ISO or ms)")
      .option("--time-to <time>", "window and session stores: up to this time (ISO or ms)")
      .option("--limit <n>", "at most this many entries per worker and in all (default 10000)")
      .option(
        "--allow-stale",
        "--key: a worker keeping a standby copy may answer (marked stale, with its lag) when the active one cannot",
      )
      .option("--timeout-ms <ms>", "how long to retry while the store moves or restores", "30000"),
  ).action(async (app: string, store: string, flags: QueryFlags) => {
    const key = (flag: string, raw: string | undefined): { json: unknown } | undefined => {
      if (raw === undefined) return undefined;
      if (flags.jsonKeys !== true) return { json: raw };
      try {
        return { json: JSON.parse(raw) as unknown };
      } catch {
        throw new InvalidArgumentError(
          `${flag} ${raw}: not JSON (with --json-keys, a string is "quoted")`,
        );
      }
    };
    const ranged = flags.from !== undefined || flags.to !== undefined;
    const modes = [flags.key !== undefined, ranged, flags.all === true].filter(Boolean).length;
    if (modes !== 1) {
      throw new InvalidArgumentError(
        "tell what to read: --key <key>, or --from <key> and/or --to <key>, or --all (one of them)",
      );
    }
    const request = {
      ...(flags.timeFrom === undefined
        ? {}
        : { timeFrom: parseDatetime("--time-from", flags.timeFrom) }),
      ...(flags.timeTo === undefined ? {} : { timeTo: parseDatetime("--time-to", flags.timeTo) }),
      ...(flags.limit === undefined
        ? {}
        : { limit: parseInteger("--limit", flags.limit, 1, 100_000) }),
      ...(flags.allowStale === true ? { allowStale: true } : {}),
    };
    const timeoutMs = parseInteger("--timeout-ms", flags.timeoutMs, 0, 3_600_000);
    const secret = querySecretFromEnv();
    await withLog(flags, async (log) => {
      const queries = new RoutedQueries(app, {
        log,
        timeoutMs,
        ...(secret === undefined ? {} : { secret }),
      });
      try {
        if (flags.key !== undefined) {
          const k = key("--key", flags.key)!;
          const type = await queries.storeType(store);
          if (type === "key-value" || type === undefined) {
            const get = await queries.point(store, "get", k, request);
            const e = get.entries[0];
            print({
              ...(e === undefined
                ? { key: k.json, found: false, value: null, partition: get.partition }
                : { key: e.key, found: true, value: e.value, partition: get.partition }),
              ...staleness(get),
            });
            return;
          }
          printEntries(await queries.point(store, "fetch", k, request));
          return;
        }
        if (ranged) {
          const from = key("--from", flags.from);
          const to = key("--to", flags.to);
          printEntries(
            await queries.scan(store, "range", {
              ...request,
              ...(from === undefined ? {} : { from }),
              ...(to === undefined ? {} : { to }),
            }),
          );
          return;
        }
        printEntries(await queries.scan(store, "all", request));
      } catch (e) {
        if (e instanceof QueryError)
          throw new QueryError(e.code, `${e.code}: ${e.message}`, { cause: e });
        throw e;
      } finally {
        queries.close();
      }
    });
  });
}

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** A standby's answer says so, and how far behind it was (--allow-stale). */
function staleness(result: RoutedResult): { stale?: true; lag?: number } {
  return result.stale === true ? { stale: true, lag: result.lag ?? 0 } : {};
}

function printEntries(result: RoutedResult): void {
  for (const e of result.entries) {
    print({
      key: e.key,
      ...(e.start === undefined ? {} : { start: e.start }),
      ...(e.end === undefined ? {} : { end: e.end }),
      value: e.value,
      ...staleness(result),
    });
  }
  if (result.truncated) {
    process.stderr.write(
      "tributary: the answer stopped at --limit entries (default 10000): narrow it with --from/--to or --time-from/--time-to, or raise --limit\n",
    );
  }
}
