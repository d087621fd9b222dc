import * as fs from "node:fs";
import * as path from "node:path";

/**
 * `<data>/broker.json` tells tools on this machine that a broker serves the directory,
 * and where: written when the broker is ready, removed on a clean stop. A broker killed
 * with SIGKILL leaves it behind, so readers check that the pid is still alive.
 *
 *   broker.json => { "address": "tcp://127.0.0.1:7070" | "unix:/path", "pid": int,
 *                    "startedAt": ISO-8601 string }
 */
export interface BrokerInfo {
  address: string;
  pid: number;
  startedAt: string;
}

export const BROKER_INFO_FILE = "broker.json";

export function writeBrokerInfo(dataDir: string, info: BrokerInfo): void {
  const file = path.join(dataDir, BROKER_INFO_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(info)}\n`);
  fs.renameSync(tmp, file);
}

/** Removes broker.json if it is ours (a newer broker may have replaced it). */
export function removeBrokerInfo(dataDir: string, pid: number = process.pid): void {
  const info = readBrokerInfoFile(dataDir);
  if (info !== undefined && info.pid !== pid) return;
  fs.rmSync(path.join(dataDir, BROKER_INFO_FILE), { force: true });
}

/** The broker serving `dataDir` (default ./.tributary), if one is running; else undefined. */
export function findRunningBroker(dataDir = ".tributary"): BrokerInfo | undefined {
  const info = readBrokerInfoFile(dataDir);
  if (info === undefined || !processAlive(info.pid)) return undefined;
  return info;
}

function readBrokerInfoFile(dataDir: string): BrokerInfo | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dataDir, BROKER_INFO_FILE), "utf8");
  } catch {
    return undefined;
  }
  try {
    const info = JSON.parse(text) as Partial<BrokerInfo>;
    if (typeof info.address !== "string" || typeof info.pid !== "number") return undefined;
    return { address: info.address, pid: info.pid, startedAt: String(info.startedAt ?? "") };
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
