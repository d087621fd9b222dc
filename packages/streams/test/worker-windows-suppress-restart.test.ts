import fs from "node:fs";
import { connectBroker, type LogClient, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { windowedSerde } from "../src/index.js";
import type { PageView } from "./fixtures/page-views-app.js";
import { seeded } from "./helpers.js";
import {
  produce,
  readTopic,
  startBrokerProcess,
  startWorker,
  stopWorker,
  tempDir,
  type WorkerProc,
} from "./runtime-helpers.js";
import {
  byPartition,
  generateViews,
  MINUTE,
  SECOND,
  tumblingReference,
  waitCaughtUp,
} from "./worker-windows-helpers.js";

// suppress(untilWindowCloses()) on real workers: each user's view ids per 1-minute window
// (grace 10 s), emitted when the window closes, against a reference over the same views.

const PARTITIONS = 2;
const wkey = windowedSerde(Serdes.string());
const ids = Serdes.json<string[] | null>();
const SESSION = ["--session-ms", "1200"];

function viewRecords(views: readonly PageView[]) {
  return views.map((v) => ({
    key: Buffer.from(v.user),
    value: Buffer.from(JSON.stringify(v)),
    timestamp: v.ts,
  }));
}

/** Every emission of final-views, in order, as `user@start-end` and its ids. */
async function emissions(log: LogClient): Promise<[string, string[]][]> {
  const { records } = await readTopic(log, "final-views", wkey, ids);
  return records.map((r) => [
    `${r.key.key}@${r.key.window.start}-${r.key.window.end}`,
    [...(r.value ?? [])].sort(),
  ]);
}

function setup() {
  const views = generateViews(10_000, {
    seed: 11,
    users: 50,
    stepMs: 250,
    slightlyLate: 0.08,
    veryLate: 0.01,
  });
  const ref = tumblingReference(
    byPartition(views, (v) => v.user, PARTITIONS),
    MINUTE,
    10 * SECOND,
  );
  const expected = new Map([...ref.closed].map((k) => [k, [...ref.windows.get(k)!].sort()]));
  return { views, ref, expected };
}

async function withBroker(name: string, body: (log: LogClient, address: string) => Promise<void>) {
  const b = await startBrokerProcess(tempDir(`${name}-broker`));
  const log = await connectBroker(b.address);
  try {
    // Records stamped November 2023: without retention.ms=-1 the broker's first retention
    // run (30 s in) would delete them.
    const config = { retentionMs: -1 };
    await log.admin.createTopic("page-views", { partitions: PARTITIONS, config });
    await log.admin.createTopic("final-views", { partitions: 1, config });
    await body(log, b.address);
  } finally {
    await log.close();
    b.proc.kill("SIGTERM");
    await b.proc.exited;
  }
}

describe("suppress until the window closes, on real workers", () => {
  it("emits exactly the closed windows, each once, across a stop and a start on fresh local state", {
    timeout: 300_000, // a hang guard (loaded machines)
  }, async () => {
    const { views, ref, expected } = setup();
    expect(ref.dropped).toBeGreaterThan(30);
    expect(expected.size).toBeGreaterThan(500);
    await withBroker("suppress-stop", async (log, broker) => {
      // restart right before a view minutes late: the restarted task must know the stream
      // time it had (committed with the offsets) to drop it as an uninterrupted run does
      let cut = 5000;
      let newest = Math.max(...views.slice(0, cut).map((v) => v.ts));
      while (views[cut]!.ts > newest - 2 * MINUTE) newest = Math.max(newest, views[cut++]!.ts);
      await produce(log, "page-views", viewRecords(views.slice(0, cut)));
      const first = await startWorker(broker, "final-views-app.ts", tempDir("suppress-1"));
      await waitCaughtUp(log, "final-views-app", ["page-views"]);
      await stopWorker(first);
      const before = (await emissions(log)).length;
      expect(before).toBeGreaterThan(100);

      // the second worker starts with no local state: the window store and the
      // suppression buffer come back from their changelogs, stream time from the commit
      await produce(log, "page-views", viewRecords(views.slice(cut)));
      const second = await startWorker(broker, "final-views-app.ts", tempDir("suppress-2"));
      await waitCaughtUp(log, "final-views-app", ["page-views"]);
      await stopWorker(second);
      expect(
        second.proc
          .events<{ event: string; total?: number }>()
          .some((e) => e.event === "restore" && (e.total ?? 0) > 0),
      ).toBe(true);

      const all = await emissions(log);
      expect(all.length).toBeGreaterThan(before);
      expect(all.length).toBe(new Set(all.map(([k]) => k)).size);
      expect(new Map(all)).toEqual(expected);
    });
  });

  it("after SIGKILLs mid-stream, every closed window is emitted with its reference ids and nothing else; repeats are counted", {
    timeout: 300_000, // a hang guard (loaded machines)
  }, async () => {
    const { views, expected } = setup();
    await withBroker("suppress-kill", async (log, broker) => {
      const rand = seeded(5);
      let state = tempDir("suppress-kill");
      let sent = 0;
      const producer = log.producer();
      const sendSome = async (n: number) => {
        const chunk = views.slice(sent, sent + n);
        sent += chunk.length;
        if (chunk.length > 0) await producer.send("page-views", viewRecords(chunk));
      };
      await sendSome(1500);
      for (let kill = 0; kill < 3; kill++) {
        if (kill === 1) {
          fs.rmSync(state, { recursive: true, force: true });
          state = tempDir("suppress-kill");
        }
        const w: WorkerProc = await startWorker(broker, "final-views-app.ts", state, [
          ...SESSION,
          "--commit-ms",
          "100",
        ]);
        let producing = true;
        const background = (async () => {
          while (producing && sent < views.length) {
            await sendSome(150);
            await new Promise((r) => setTimeout(r, 15));
          }
        })();
        const commits = () => w.proc.lines.filter((l) => l.includes('"event":"commit"')).length;
        await w.proc.waitForLine(() => commits() >= 3, "three commits");
        await new Promise((r) => setTimeout(r, Math.floor(rand() * 200)));
        w.proc.kill("SIGKILL");
        await w.proc.exited;
        producing = false;
        await background;
      }
      await sendSome(views.length);
      await producer.close();
      const last = await startWorker(broker, "final-views-app.ts", state, SESSION);
      await waitCaughtUp(log, "final-views-app", ["page-views"], 45_000);
      await stopWorker(last);

      const all = await emissions(log);
      const union = new Map<string, Set<string>>();
      for (const [k, list] of all) {
        const set = union.get(k) ?? new Set<string>();
        for (const id of list) set.add(id);
        union.set(k, set);
      }
      // at-least-once: no closed window missing, none invented, no id lost or invented;
      // a window may be emitted again by the records replayed after a kill
      expect(new Map([...union].map(([k, s]) => [k, [...s].sort()]))).toEqual(expected);
      const repeats = all.length - union.size;
      console.log(
        `suppress after 3 SIGKILLs: ${union.size} closed windows, ${all.length} emissions (${repeats} repeated)`,
      );
    });
  });
});
