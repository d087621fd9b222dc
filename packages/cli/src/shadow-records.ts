import type { LogClient } from "@tributary/log";
import { readLatestByKey, writeKeyed } from "./compacted-topic.js";
import { CliError } from "./errors.js";

/**
 * The compacted topic where side-by-side versions of apps are recorded, one record per
 * `<app>/<version>`: `tributary run --as` writes it, `promote` moves it on, `abandon`
 * deletes it (a tombstone), and every `tributary run` of the app reads it.
 */
export const SHADOWS_TOPIC = "_tributary_shadows";

/** The version of the record below; a reader refuses versions it does not know. */
export const SHADOW_RECORD_VERSION = 1;

/**
 * The phases of a version: "shadow" (beside the live app, writing shadow topics, never
 * past the live app's committed input offsets), "promoting" (the live app is asked to stop
 * reading input and drain; then `fence` holds its final committed input offsets), and
 * "promoted" (the version writes the real output topics, from `fence` on).
 */
export type ShadowPhase = "shadow" | "promoting" | "promoted";

/*
 * ShadowRecord, JSON (UTF-8), key "<app>/<version>" (UTF-8), in _tributary_shadows:
 *   { v: 1, app: string, version: string, applicationId: "<app>.<version>",
 *     from: "earliest" | epoch ms, phase: "shadow" | "promoting" | "promoted",
 *     outputs: { <output topic>: <shadow topic> }, inputs: [topic],
 *     fence: null | [{ topic, partition, offset }], createdAt: epoch ms, updatedAt: epoch ms }
 */
export interface ShadowRecord {
  v: number;
  app: string;
  version: string;
  applicationId: string;
  from: "earliest" | number;
  phase: ShadowPhase;
  outputs: Record<string, string>;
  inputs: string[];
  fence: { topic: string; partition: number; offset: number }[] | null;
  createdAt: number;
  updatedAt: number;
}

const key = (app: string, version: string) => `${app}/${version}`;

/** Every recorded version of `app` (all apps without one). */
export async function readShadows(log: LogClient, app?: string): Promise<ShadowRecord[]> {
  const prefix = app === undefined ? "" : `${app}/`;
  const latest = await readLatestByKey(log, SHADOWS_TOPIC, "tributary-shadows", (k) =>
    k.startsWith(prefix),
  );
  const records: ShadowRecord[] = [];
  for (const [k, { offset, value }] of latest) {
    if (value === null) continue;
    let record: ShadowRecord;
    try {
      record = JSON.parse(value.toString("utf8")) as ShadowRecord;
    } catch (err) {
      throw new CliError(
        "LOG_READ",
        `the record of ${k} at ${SHADOWS_TOPIC} offset ${offset} is not JSON (${(err as Error).message}): abandon the version (tributary abandon) or fix the topic`,
      );
    }
    if (record.v !== SHADOW_RECORD_VERSION) {
      throw new CliError(
        "LOG_READ",
        `the record of ${k} at ${SHADOWS_TOPIC} offset ${offset} has version ${record.v}, and this tributary reads version ${SHADOW_RECORD_VERSION}: use the tributary that wrote it`,
      );
    }
    records.push(record);
  }
  return records.sort((a, b) => a.createdAt - b.createdAt);
}

/** The record of `app`'s version `version`, or a VERSION_UNKNOWN error naming those there are. */
export async function requireShadow(
  log: LogClient,
  app: string,
  version: string,
): Promise<ShadowRecord> {
  const all = await readShadows(log);
  const found = all.find((r) => r.app === app && r.version === version);
  if (found !== undefined) return found;
  const mine = all.filter((r) => r.app === app);
  const others = [...new Set(all.map((r) => r.app))].filter((a) => a !== app);
  const there =
    mine.length > 0
      ? `app ${app} has ${mine.map((r) => `${r.version} (${r.phase})`).join(", ")}`
      : `app ${app} has no side-by-side version (start one with tributary run app.ts --as ${version} --from earliest)${others.length === 0 ? "" : `; apps with versions: ${others.join(", ")}`}`;
  throw new CliError("VERSION_UNKNOWN", `no version ${version} of app ${app}: ${there}`);
}

export async function writeShadow(log: LogClient, record: ShadowRecord): Promise<void> {
  await writeKeyed(
    log,
    SHADOWS_TOPIC,
    key(record.app, record.version),
    JSON.stringify({ ...record, updatedAt: Date.now() }),
  );
}

export async function forgetShadow(log: LogClient, app: string, version: string): Promise<void> {
  await writeKeyed(log, SHADOWS_TOPIC, key(app, version), null);
}
