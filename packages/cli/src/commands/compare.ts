import type { LogClient } from "@tributary/log";
import type { Command } from "commander";
import { type LatestByKey, readLatestByKey } from "../compacted-topic.js";
import { oneOf, parseInteger } from "../flags.js";
import { type LogFlags, addLogOptions, withLog } from "../log-flags.js";
import { printJson } from "../output.js";
import { type ShadowRecord, requireShadow } from "../shadow-records.js";

interface CompareFlags extends LogFlags {
  samples: string;
  format: string;
  json?: boolean;
}

/** How one output topic of the live app and its shadow differ, key by key. */
export interface OutputComparison {
  live: string;
  shadow: string;
  equal: number;
  changed: number;
  onlyInLive: number;
  onlyInVersion: number;
  samples: {
    changed: { key: string; live: string; version: string }[];
    onlyInLive: { key: string; value: string }[];
    onlyInVersion: { key: string; value: string }[];
  };
}

export interface Comparison {
  app: string;
  version: string;
  phase: ShadowRecord["phase"];
  /** Input records the live app has committed and the version not yet (0: caught up). */
  behindLive: number;
  outputs: OutputComparison[];
}

/**
 * `tributary compare <app> <version>`: how a side-by-side version's shadow outputs differ
 * from the live outputs, per key. Outputs are read as tables: the latest value of each key
 * (a tombstone removes it), which is what a changelog output such as a count means; a
 * stream of events per key is compared by its last event only. Both sides are read up to
 * their ends at the time of the call, so while the version catches up its keys lag behind
 * (`behindLive` says by how many input records).
 */
export function registerCompareCommand(program: Command): void {
  addLogOptions(
    program
      .command("compare <app> <version>")
      .description(
        "compare a side-by-side version's shadow outputs with the live ones, latest value per key",
      )
      .option("--samples <n>", "keys to show per kind of difference", "5")
      .option("--format <text|json>", "output format", "text")
      .option("--json", "the same as --format json"),
  ).action(async (app: string, version: string, flags: CompareFlags) => {
    const samples = parseInteger("--samples", flags.samples, 0, 1_000_000_000);
    const format = flags.json ? "json" : oneOf("--format", flags.format, ["text", "json"] as const);
    const result = await withLog(flags, async (log) => {
      const record = await requireShadow(log, app, version);
      const outputs: OutputComparison[] = [];
      for (const [live, shadow] of Object.entries(record.outputs)) {
        outputs.push(
          compareTables(
            live,
            shadow,
            await readLatestByKey(log, live, "tributary-compare", undefined, "base64"),
            await readLatestByKey(log, shadow, "tributary-compare", undefined, "base64"),
            samples,
          ),
        );
      }
      return {
        app,
        version,
        phase: record.phase,
        behindLive: await behindLive(log, record),
        outputs,
      } satisfies Comparison;
    });
    if (format === "json") printJson(result);
    else printComparison(result);
  });
}

function compareTables(
  live: string,
  shadow: string,
  a: LatestByKey,
  b: LatestByKey,
  samples: number,
): OutputComparison {
  const c: OutputComparison = {
    live,
    shadow,
    equal: 0,
    changed: 0,
    onlyInLive: 0,
    onlyInVersion: 0,
    samples: { changed: [], onlyInLive: [], onlyInVersion: [] },
  };
  const keys = [...new Set([...a.keys(), ...b.keys()])].map((k) => ({
    k,
    key: show(Buffer.from(k, "base64")),
  }));
  for (const { k, key } of keys.sort((p, q) => (p.key < q.key ? -1 : p.key > q.key ? 1 : 0))) {
    const x = a.get(k)?.value ?? null;
    const y = b.get(k)?.value ?? null;
    if (x === null && y === null) continue;
    if (x !== null && y !== null) {
      if (x.equals(y)) c.equal++;
      else if (c.changed++ < samples) {
        c.samples.changed.push({ key, live: show(x), version: show(y) });
      }
    } else if (x !== null) {
      if (c.onlyInLive++ < samples) c.samples.onlyInLive.push({ key, value: show(x) });
    } else if (c.onlyInVersion++ < samples) {
      c.samples.onlyInVersion.push({ key, value: show(y!) });
    }
  }
  return c;
}

/** UTF-8 text as it is; other bytes as base64 (keys and values alike). */
function show(value: Buffer): string {
  const text = value.toString("utf8");
  return Buffer.from(text, "utf8").equals(value) ? text : `base64:${value.toString("base64")}`;
}

async function behindLive(log: LogClient, record: ShadowRecord): Promise<number> {
  if (record.phase === "promoted") return 0;
  const mine = new Map(
    (await log.admin.fetchCommittedOffsets(record.applicationId, record.inputs)).map((c) => [
      `${c.topic}\0${c.partition}`,
      c.offset,
    ]),
  );
  let behind = 0;
  for (const c of await log.admin.fetchCommittedOffsets(record.app, record.inputs)) {
    behind += Math.max(0, c.offset - (mine.get(`${c.topic}\0${c.partition}`) ?? 0));
  }
  return behind;
}

function printComparison(r: Comparison): void {
  const out: string[] = [
    `app ${r.app}, version ${r.version} (${r.phase}): ${r.behindLive === 0 ? "caught up with the live app's committed input" : `${r.behindLive} input records behind the live app`}`,
  ];
  for (const o of r.outputs) {
    out.push(
      `${o.live} vs ${o.shadow} (latest value per key): ${o.equal} equal, ${o.changed} changed, ${o.onlyInLive} only in live, ${o.onlyInVersion} only in ${r.version}`,
    );
    for (const s of o.samples.changed)
      out.push(`  changed       ${s.key}: ${s.live} -> ${s.version}`);
    for (const s of o.samples.onlyInLive) out.push(`  only in live  ${s.key}: ${s.value}`);
    for (const s of o.samples.onlyInVersion) {
      out.push(`  only in ${r.version.padEnd(5)} ${s.key}: ${s.value}`);
    }
  }
  process.stdout.write(`${out.join("\n")}\n`);
}
