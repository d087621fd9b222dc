import { describe, expect, it } from "vitest";
import { defineApp, Serdes } from "../src/index.js";
import { TopologyTestDriver } from "../src/testing/index.js";
import { SessionWindows } from "../src/windows/session-windows.js";
import { untilWindowCloses } from "../src/windows/suppressed.js";
import { TimeWindows } from "../src/windows/time-windows.js";
import { type Windowed, windowedSerde } from "../src/windows/windowed.js";
import { str } from "./helpers.js";
import { MINUTE, pageViews, SECOND, type View } from "./windows-helpers.js";

// suppress(untilWindowCloses()): exactly the windows that closed, each once, with its
// final count — checked against a reference computed with plain loops.

const SIZE = MINUTE;
const GRACE = 10 * SECOND;

const app = defineApp({
  applicationId: "final-views",
  topology: (b) => {
    b.stream<string, View>("views", { keySerde: str, valueSerde: Serdes.json<View>() })
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(SIZE, GRACE))
      .count({ storeName: "per-user" })
      .suppress(untilWindowCloses({ name: "final" }))
      .toStream()
      .to("final-counts", { keySerde: windowedSerde(str), valueSerde: Serdes.msgpack<number>() });
  },
});

const views = pageViews(15_000, {
  seed: 9,
  users: 30,
  stepMs: 400,
  slightlyLate: 0.08,
  veryLate: 0.01,
});

/** Reference: final counts of the windows closed by the end, and the stream time then. */
function reference(events: readonly View[]) {
  const counts = new Map<string, number>();
  let streamTime = -1;
  for (const v of events) {
    streamTime = Math.max(streamTime, v.ts);
    const start = Math.floor(v.ts / SIZE) * SIZE;
    if (start + SIZE + GRACE <= streamTime) continue;
    const k = `${v.user}@${start}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const closed = new Map<string, number>();
  for (const [k, n] of counts) {
    if (Number(k.split("@")[1]) + SIZE + GRACE <= streamTime) closed.set(k, n);
  }
  return closed;
}

function read(driver: TopologyTestDriver): [string, number][] {
  return driver
    .createOutputTopic<Windowed<string>, number>("final-counts")
    .readKeyValuesToList()
    .map(([k, v]) => {
      expect(k.window.end - k.window.start).toBe(SIZE);
      return [`${k.key}@${k.window.start}`, v];
    });
}

describe("suppress until window closes", () => {
  it("emits exactly the closed windows, each once, with their final counts", () => {
    const expected = reference(views);
    const driver = new TopologyTestDriver(app);
    const input = driver.createInputTopic<string, View>("views");
    for (const v of views) input.pipeInput(v.user, v, v.ts);
    const out = read(driver);
    expect(out.length).toBe(new Set(out.map(([k]) => k)).size);
    expect(new Map(out)).toEqual(expected);
    expect(expected.size).toBeGreaterThan(500);
    driver.close();
  });

  it("keeps what it buffered across a restart: every closed window still once, none lost", () => {
    // restart where the record is the newest so far, so the restarted task's stream time
    // (which starts over) agrees with an uninterrupted run from the first record on
    let cut = Math.floor(views.length / 2);
    let max = -1;
    for (let i = 0; i < cut; i++) max = Math.max(max, views[i]!.ts);
    while (views[cut]!.ts < max) cut++;
    const expected = reference(views);

    const first = new TopologyTestDriver(app);
    const in1 = first.createInputTopic<string, View>("views");
    for (const v of views.slice(0, cut)) in1.pipeInput(v.user, v, v.ts);
    const before = read(first);
    first.close();
    expect(first.producedTopicNames()).toContain("final-counts");

    const second = new TopologyTestDriver(app, { restoreFrom: first });
    // windows still open at the restart are buffered in the restored store
    expect(second.getKeyValueStore("final-store").approximateNumEntries()).toBeGreaterThan(0);
    const in2 = second.createInputTopic<string, View>("views");
    for (const v of views.slice(cut)) in2.pipeInput(v.user, v, v.ts);
    const after = read(second);
    second.close();

    const all = [...before, ...after];
    expect(all.length).toBe(new Set(all.map(([k]) => k)).size);
    expect(new Map(all)).toEqual(expected);
    expect(before.length).toBeGreaterThan(100);
    expect(after.length).toBeGreaterThan(100);
  });

  it("emits a session once, after end + gap + grace, never the sessions it merged away", () => {
    const gap = 30 * SECOND;
    const grace = 30 * SECOND;
    const sessions = defineApp({
      applicationId: "sessions",
      topology: (b) => {
        b.stream<string, string>("clicks", { keySerde: str, valueSerde: str })
          .groupByKey()
          .windowedBy(SessionWindows.ofInactivityGapAndGrace(gap, grace))
          .count()
          .suppress(untilWindowCloses())
          .toStream()
          .to("sessions", { keySerde: windowedSerde(str), valueSerde: Serdes.msgpack<number>() });
      },
    });
    const driver = new TopologyTestDriver(sessions);
    const input = driver.createInputTopic<string, string>("clicks");
    const out = driver.createOutputTopic<Windowed<string>, number>("sessions");
    input.pipeInput("a", "x", 0);
    input.pipeInput("a", "x", 50_000); // more than the gap later: a second session
    input.pipeInput("a", "x", 25_000); // bridges both: one session [0, 50000] of 3
    input.pipeInput("b", "x", 110_000); // 50000 + 1 + gap + grace > 110000: still open
    expect(out.isEmpty()).toBe(true);
    input.pipeInput("b", "x", 110_001);
    expect(out.readKeyValuesToList()).toEqual([
      [{ key: "a", window: { start: 0, end: 50_000 } }, 3],
    ]);
    driver.close();
  });
});
