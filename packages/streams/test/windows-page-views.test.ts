import { describe, expect, it } from "vitest";
import { defineApp, Serdes } from "../src/index.js";
import { TopologyTestDriver } from "../src/testing/index.js";
import { SessionWindows } from "../src/windows/session-windows.js";
import { SlidingWindows } from "../src/windows/sliding-windows.js";
import { TimeWindows } from "../src/windows/time-windows.js";
import { type Windowed, windowedSerde } from "../src/windows/windowed.js";
import { str } from "./helpers.js";
import { latestByKey, MINUTE, pageViews, SECOND, type View } from "./windows-helpers.js";
import { sessionReference } from "./worker-windows-helpers.js";

// Page views per user per window, against reference computations written independently of
// the DSL: plain loops over the same generated events, with stream time = the largest
// timestamp seen so far, as the task keeps it.

const wkey = windowedSerde(str);
const counts = Serdes.msgpack<number | null>();

function windowedCountApp(windows: TimeWindows | SlidingWindows | SessionWindows) {
  return defineApp({
    applicationId: "views",
    topology: (b) => {
      const grouped = b
        .stream<string, View>("views", { keySerde: str, valueSerde: Serdes.json<View>() })
        .groupByKey();
      const table =
        windows instanceof SessionWindows
          ? grouped.windowedBy(windows).count({ storeName: "per-user" })
          : grouped.windowedBy(windows).count({ storeName: "per-user" });
      table.toStream().to("counts", { keySerde: wkey, valueSerde: counts });
    },
  });
}

function run(windows: TimeWindows | SlidingWindows | SessionWindows, views: readonly View[]) {
  const driver = new TopologyTestDriver(windowedCountApp(windows));
  const input = driver.createInputTopic<string, View>("views");
  for (const v of views) input.pipeInput(v.user, v, v.ts);
  const out = driver
    .createOutputTopic<Windowed<string>, number | null>("counts")
    .readKeyValuesToList()
    .map(([k, v]) => [`${k.key}@${k.window.start}-${k.window.end}`, v] as const);
  return { driver, finals: latestByKey(out) };
}

const views = pageViews(20_000, {
  seed: 5,
  users: 40,
  stepMs: 400,
  slightlyLate: 0.08,
  veryLate: 0.01,
});

describe("windowed page views", () => {
  it("tumbling 1-minute windows, grace 10 s: a few seconds late counts, minutes late is dropped and counted", () => {
    const size = MINUTE;
    const grace = 10 * SECOND;
    const expected = new Map<string, number>();
    let streamTime = -1;
    let dropped = 0;
    let lateButCounted = 0;
    for (const v of views) {
      streamTime = Math.max(streamTime, v.ts);
      const start = Math.floor(v.ts / size) * size;
      if (start + size + grace <= streamTime) {
        dropped++;
        continue;
      }
      if (v.ts < streamTime) lateButCounted++;
      const k = `${v.user}@${start}-${start + size}`;
      expected.set(k, (expected.get(k) ?? 0) + 1);
    }
    expect(dropped).toBeGreaterThan(100);
    expect(lateButCounted).toBeGreaterThan(1000);

    const { driver, finals } = run(TimeWindows.ofSizeAndGrace(size, grace), views);
    expect(finals).toEqual(expected);
    expect(driver.droppedRecords()).toBe(dropped);
    expect(driver.droppedRecords("per-user")).toBe(dropped);
    // the store keeps only windows within retention (size + grace) of the newest start
    const live = driver.getWindowStore<string, number>("per-user").all();
    const newest = Math.max(...live.map((w) => w.start));
    expect(live.length).toBeGreaterThan(0);
    for (const w of live) {
      expect(w.start).toBeGreaterThan(newest - size - grace);
      expect(w.value).toBe(expected.get(`${w.key}@${w.start}-${w.start + size}`));
    }
    driver.close();
  });

  it("hopping 1-minute windows advancing by 20 s: every window holding a record counts it, closed ones count a drop each", () => {
    const size = MINUTE;
    const advance = 20 * SECOND;
    const grace = 10 * SECOND;
    const expected = new Map<string, number>();
    let streamTime = -1;
    let dropped = 0;
    for (const v of views) {
      streamTime = Math.max(streamTime, v.ts);
      for (let start = 0; start <= v.ts; start += advance) {
        if (start + size <= v.ts) {
          start = Math.floor((v.ts - size) / advance) * advance;
          continue;
        }
        if (start + size + grace <= streamTime) {
          dropped++;
          continue;
        }
        const k = `${v.user}@${start}-${start + size}`;
        expected.set(k, (expected.get(k) ?? 0) + 1);
      }
    }
    const { driver, finals } = run(
      TimeWindows.ofSizeAndGrace(size, grace).advanceBy(advance),
      views,
    );
    expect(finals).toEqual(expected);
    expect(driver.droppedRecords()).toBe(dropped);
    driver.close();
  });

  it("session windows, gap 30 s: a user's accepted views closer than the gap form one session", () => {
    const gap = 30 * SECOND;
    const grace = 10 * SECOND;
    // reference: the worker tests' session reference over one partition (the driver's one task)
    const { sessions: expected, dropped } = sessionReference([views], gap, grace);
    const { driver, finals } = run(SessionWindows.ofInactivityGapAndGrace(gap, grace), views);
    expect(dropped).toBeGreaterThan(50);
    expect(finals).toEqual(expected);
    expect(driver.droppedRecords()).toBe(dropped);
    const stored = driver.getSessionStore<string, number>("per-user").all();
    expect(stored.length).toBeGreaterThan(0);
    for (const s of stored) expect(s.value).toBe(expected.get(`${s.key}@${s.start}-${s.end}`));
    driver.close();
  });

  it("sliding windows of 30 s: each record's window and the one just after it, over accepted records", () => {
    const d = 30 * SECOND;
    const grace = 10 * SECOND;
    const sample = views.slice(0, 6000);
    const accepted = new Map<string, number[]>();
    let streamTime = -1;
    let dropped = 0;
    for (const v of sample) {
      streamTime = Math.max(streamTime, v.ts);
      if (v.ts + 1 + grace <= streamTime) {
        dropped++;
        continue;
      }
      accepted.set(v.user, [...(accepted.get(v.user) ?? []), v.ts]);
    }
    const expected = new Map<string, number>();
    for (const [user, times] of accepted) {
      const count = (s: number, e: number) => times.filter((t) => t >= s && t <= e).length;
      for (const p of times) {
        expected.set(`${user}@${p - d}-${p}`, count(p - d, p));
        const after = count(p + 1, p + 1 + d);
        if (after > 0) expected.set(`${user}@${p + 1}-${p + 1 + d}`, after);
      }
    }
    const { driver, finals } = run(SlidingWindows.ofTimeDifferenceAndGrace(d, grace), sample);
    expect(dropped).toBeGreaterThan(10);
    expect(finals).toEqual(expected);
    expect(driver.droppedRecords("per-user")).toBe(dropped);
    driver.close();
  });
});
