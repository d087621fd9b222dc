import { describe, expect, it } from "vitest";
import { defineApp, Serdes } from "../src/index.js";
import { EventTime } from "../src/runtime/event-time.js";
import { decodeWatermark, watermarkRecord } from "../src/runtime/watermark-record.js";

const wm = (subtopology: number, partition: number, time: number, idle = false) => ({
  subtopology,
  partition,
  time,
  idle,
});

/** What a downstream task reads back: the record as the log returns it. */
function roundTrip(w: ReturnType<typeof wm>) {
  const r = watermarkRecord(w, 0);
  const headers: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k] = Buffer.from(v);
  return decodeWatermark({
    offset: 0,
    timestamp: r.timestamp!,
    key: null,
    value: r.value,
    headers,
  })!;
}

describe("a task's event time from its upstream writers' watermarks", () => {
  const inputs = { internal: [{ topic: "rp", writers: ["0_0", "0_1", "0_2"] }], sources: [] };

  it("is the minimum over every expected writer: one that has not written holds it at -1", () => {
    const et = new EventTime(inputs, -1, 0, () => 1000);
    expect(et.onWatermark("rp", roundTrip(wm(0, 0, 5000)))).toBe(false);
    expect(et.onWatermark("rp", roundTrip(wm(0, 1, 3000)))).toBe(false);
    expect(et.time).toBe(-1);
    expect(et.onWatermark("rp", roundTrip(wm(0, 2, 4000)))).toBe(true);
    expect(et.time).toBe(3000);
    // a writer's watermark never goes back (a moved writer restarting from its commit)
    et.onWatermark("rp", roundTrip(wm(0, 1, 1000)));
    expect(et.time).toBe(3000);
    et.onWatermark("rp", roundTrip(wm(0, 1, 9000)));
    expect(et.time).toBe(4000);
  });

  it("leaves idle writers out, goes to the furthest when all are idle, and hears of new writers", () => {
    const et = new EventTime(inputs, -1, 0, () => 1000);
    et.onWatermark("rp", wm(0, 0, 5000));
    et.onWatermark("rp", wm(0, 1, 6000));
    et.onWatermark("rp", roundTrip(wm(0, 2, -1, true)));
    expect(et.time).toBe(5000);
    et.onWatermark("rp", wm(0, 0, 5000, true));
    expect(et.time).toBe(6000);
    expect(et.allIdle()).toBe(false);
    et.onWatermark("rp", wm(0, 1, 6000, true));
    expect(et.time).toBe(6000);
    expect(et.allIdle()).toBe(true);
    // all idle, the last to go idle being behind: everything written is in, so the
    // furthest watermark holds (a live app whose inputs all went quiet closes its windows)
    const all = new EventTime(inputs, -1, 0, () => 1000);
    all.onWatermark("rp", wm(0, 0, 5000, true));
    all.onWatermark("rp", wm(0, 1, -1, true));
    expect(all.time).toBe(-1); // 0_2 not heard of yet
    all.onWatermark("rp", wm(0, 2, -1, true));
    expect(all.time).toBe(5000);
    // a writer of a new upstream partition joins the minimum once heard of
    et.onWatermark("rp", wm(0, 3, 7000));
    et.onWatermark("rp", wm(0, 0, 8000));
    expect(et.time).toBe(7000);
  });

  it("restores its writers from the committed vector", () => {
    const a = new EventTime(inputs, -1, 0, () => 1000);
    for (const [p, t] of [
      [0, 5000],
      [1, 3000],
      [2, 4000],
    ] as const)
      a.onWatermark("rp", wm(0, p, t));
    a.onWatermark("rp", wm(0, 2, 4000, true));
    const vector = a.encodeWriters();
    expect(vector).toBe(";w=0/0_0:5000,0/0_1:3000,0/0_2:4000i");
    const b = new EventTime(inputs, a.time, 0, () => 1000);
    b.restoreWriters(vector.slice(3));
    b.onWatermark("rp", wm(0, 1, 10_000));
    expect(b.time).toBe(5000); // 0_2 is idle, 0_0 at 5000
  });

  it("lets a quiet, caught-up source partition go idle after its own timeout", () => {
    const et = new EventTime(
      { internal: [{ topic: "rp", writers: ["0_0"] }], sources: ["quiet", "busy"] },
      -1,
      0,
      (topic) => (topic === "quiet" ? 500 : 60_000),
    );
    et.onWatermark("rp", wm(0, 0, 9000));
    et.onSourceRecord("busy", 8000, 0);
    expect(et.time).toBe(-1); // "quiet" has no time yet
    expect(et.checkIdle(400, () => true)).toBe(false);
    expect(et.checkIdle(500, (t) => t !== "quiet")).toBe(false); // records still on the log
    expect(et.checkIdle(600, () => true)).toBe(true);
    expect(et.time).toBe(8000);
    et.onSourceRecord("quiet", 8500, 700); // active again, does not move time back
    expect(et.time).toBe(8000);
  });

  it("refuses a source idleTimeoutMs that is not a number of ms, naming it", () => {
    const app = defineApp({
      applicationId: "idle-bad",
      topology: (b) => {
        b.stream("in", { valueSerde: Serdes.string(), idleTimeoutMs: -5 }).to("out");
      },
    });
    expect(() => app.build()).toThrow(/idleTimeoutMs must be a number of ms >= 0, got -5/);
  });
});
