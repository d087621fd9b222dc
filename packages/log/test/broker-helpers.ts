import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { connectBroker } from "../src/broker/connect-broker.js";
import type { LogClient } from "../src/client/log-client.js";
import {
  type BrokerProc,
  type ChildProc,
  eventually,
  spawnTs,
  startBrokerProcess,
  tempDir,
} from "../src/testing/index.js";

/**
 * Helpers for the broker tests of this package. The ones other packages' tests use too
 * (child processes read line by line, a broker process, eventually) are
 * @tributary/log/testing's, re-exported here.
 */

export * from "../src/testing/index.js";

export const FIXTURES_DIR = path.join(import.meta.dirname, "fixtures");

/** Waits until the group has `members` members and all `partitions` are assigned. */
export async function groupStable(
  admin: LogClient["admin"],
  groupId: string,
  members: number,
  partitions: number,
) {
  return eventually(async () => {
    const d = await admin.describeGroup(groupId);
    const assigned = d.members.reduce((n, m) => n + m.assignment.length, 0);
    return d.state === "Stable" && d.members.length === members && assigned === partitions
      ? d
      : undefined;
  }, `group ${groupId} stable with ${members} members`);
}

/** A line fixtures/broker-consumer.ts prints per partition of a poll with records. */
export interface Polled {
  p: number;
  offsets: number[];
  values: string[];
}

/** Starts a group member process (fixtures/broker-consumer.ts). */
export function spawnConsumer(
  address: string,
  groupId: string,
  topic: string,
  sessionTimeoutMs: number,
): ChildProc {
  return spawnTs(path.join(FIXTURES_DIR, "broker-consumer.ts"), [
    address,
    groupId,
    topic,
    String(sessionTimeoutMs),
  ]);
}

export interface BrokerWithTopic {
  dir: string;
  broker: BrokerProc;
  client: LogClient;
  /** Child processes the tests start; SIGKILLed after the tests. */
  consumers: ChildProc[];
}

/**
 * For the enclosing describe: a broker process on a temp dir with `topic` created, a
 * client connected to it, and cleanup (children killed, broker stopped, dir removed).
 * The fields are set once beforeAll has run.
 */
export function brokerWithTopic(
  dirPrefix: string,
  topic: string,
  partitions: number,
): BrokerWithTopic {
  const env = { consumers: [] as ChildProc[] } as BrokerWithTopic;
  beforeAll(async () => {
    env.dir = tempDir(dirPrefix);
    env.broker = await startBrokerProcess(env.dir);
    env.client = await connectBroker(env.broker.address);
    await env.client.admin.createTopic(topic, { partitions });
  });
  afterAll(async () => {
    for (const c of env.consumers) c.kill("SIGKILL");
    await env.client.close();
    env.broker.proc.kill("SIGTERM");
    await env.broker.proc.exited;
    fs.rmSync(env.dir, { recursive: true, force: true });
  });
  return env;
}

/** Resident set size of a process, in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (kb === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb[1]) * 1024;
}
