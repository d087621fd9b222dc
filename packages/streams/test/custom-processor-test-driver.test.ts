import { describe, expect, it } from "vitest";
import {
  defineApp,
  type Processor,
  type ProcessorContext,
  type ProcessorKeyValueStore,
  PunctuationType,
  Record,
  Serdes,
  StreamTask,
  Stores,
} from "../src/index.js";
import { TopologyTestDriver } from "../src/testing/index.js";
import {
  generatePayments,
  minuteCountsReference,
  sessionsReference,
  totalsReference,
} from "./custom-processor-helpers.js";
import customProcessorApp from "./fixtures/custom-processor-app.js";
import punctuationApp, {
  STREAM_INTERVAL_MS,
  WALL_INTERVAL_MS,
} from "./fixtures/punctuation-app.js";
import { str } from "./helpers.js";

const json = Serdes.json<unknown>();

/** The last value per key of an output topic, tombstones deleting. */
function table<V>(driver: TopologyTestDriver, topic: string): Map<string, V> {
  const m = new Map<string, V>();
  for (const r of driver.createOutputTopic<string, V | null>(topic, str).readRecordsToList()) {
    if (r.value === null) m.delete(r.key);
    else m.set(r.key, r.value);
  }
  return m;
}

describe("custom processors in the test driver", () => {
  it("use key-value, window and session stores and give the reference answers", () => {
    const events = generatePayments(600, 7);
    const driver = new TopologyTestDriver(customProcessorApp);
    const input = driver.createInputTopic("payments", str, json);
    for (const e of events) input.pipeInput(e.key, e.value, e.timestamp);
    expect(table(driver, "totals")).toEqual(totalsReference(events));
    expect(table(driver, "minute-counts")).toEqual(minuteCountsReference(events));
    expect(table(driver, "sessions")).toEqual(sessionsReference(events));
    // ids seen before: the key-value store remembers them, so no total moves
    for (const e of events.slice(0, 50)) input.pipeInput(e.key, e.value, e.timestamp);
    expect(driver.createOutputTopic("totals", str, json).isEmpty()).toBe(true);
    driver.close();
  });

  it("restores a custom processor's store from its changelog (restoreFrom)", () => {
    const events = generatePayments(200, 5);
    const first = new TopologyTestDriver(customProcessorApp);
    const in1 = first.createInputTopic("payments", str, json);
    for (const e of events.slice(0, 120)) in1.pipeInput(e.key, e.value, e.timestamp);
    first.close();
    const second = new TopologyTestDriver(customProcessorApp, { restoreFrom: first });
    const in2 = second.createInputTopic("payments", str, json);
    // replays 20 already seen (as after a crash) and goes on
    for (const e of events.slice(100)) in2.pipeInput(e.key, e.value, e.timestamp);
    const totals = second.getKeyValueStore<string, unknown>("totals");
    for (const [k, v] of totalsReference(events)) expect(totals.get(k)).toEqual(v);
    second.close();
  });

  it("fires stream-time punctuators at each interval of event time and wall-clock ones as the clock moves", () => {
    const driver = new TopologyTestDriver(punctuationApp, { initialTime: 0 });
    const input = driver.createInputTopic("ticks", str, json);
    const out = driver.createOutputTopic("punctuations", str, Serdes.json<number>());
    // 1 s, 4 s, …, 97 s: stream time passes 10 s, 20 s, … 90 s, and a punctuator fires at
    // the first record on or past each multiple of the interval (not 10 s after the first)
    for (let t = 1000; t < 100_000; t += 3000) input.pipeInput("k", t, t);
    const stream = out.readKeyValuesToList();
    expect(stream).toEqual(
      [10_000, 22_000, 31_000, 40_000, 52_000, 61_000, 70_000, 82_000, 91_000].map((time, i) => [
        `stream@${i + 1}`,
        time,
      ]),
    );
    expect(STREAM_INTERVAL_MS).toBe(10_000);
    // no input: only the wall clock moves, and only wall-clock punctuators fire
    driver.advanceWallClockTime(WALL_INTERVAL_MS - 1);
    expect(out.isEmpty()).toBe(true);
    driver.advanceWallClockTime(1);
    driver.advanceWallClockTime(WALL_INTERVAL_MS);
    expect(out.readKeyValuesToList()).toEqual([
      ["wall@1", 33],
      ["wall@2", 33],
    ]);
    driver.close();
  });
});

describe("the processor context", () => {
  it("says which task and which record (topic, partition, offset) is processed, and none in a punctuator", () => {
    const app = defineApp({
      applicationId: "ctx",
      topology: (b) => {
        b.stream<string, number>("in", { keySerde: str, valueSerde: Serdes.json<number>() })
          .process<string, string>(() => {
            let ctx!: ProcessorContext<string, string>;
            const where = () => {
              const m = ctx.recordMetadata();
              return m === null ? "none" : `${m.topic}-${m.partition}@${m.offset}`;
            };
            return {
              init: (c) => {
                ctx = c;
                c.schedule(1000, PunctuationType.WALL_CLOCK_TIME, (now) => {
                  c.forward(new Record("tick", `${c.taskId} ${where()}`, now));
                });
              },
              process: (r) => {
                ctx.commit(); // nothing to commit in the driver: a no-op, not an error
                ctx.forward(
                  r.withValue(`${ctx.taskId} ${where()} st=${ctx.currentStreamTimeMs()}`),
                );
              },
            };
          })
          .to("out", { keySerde: str, valueSerde: str });
      },
    });
    const driver = new TopologyTestDriver(app);
    const input = driver.createInputTopic<string, number>("in");
    input.pipeInput("a", 1, 500);
    input.pipeInput("b", 2, 300);
    driver.advanceWallClockTime(1000);
    expect(driver.createOutputTopic("out", str, str).readKeyValuesToList()).toEqual([
      ["a", "0_0 in-0@0 st=500"],
      ["b", "0_0 in-0@1 st=500"],
      ["tick", "0_0 none"],
    ]);
    driver.close();
  });
});

describe("using the Processor API wrongly", () => {
  const appWith = (
    supplier: () => Processor<string, number, string, number>,
    stores: string[],
    more: (s: ReturnType<typeof stream>) => void = (s) => s.to("out"),
  ) =>
    defineApp({
      applicationId: "misuse",
      topology: (b) => {
        b.addStateStore(
          Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("kv"), str, json),
        );
        more(stream(b).process(supplier, { name: "custom" }, ...stores) as never);
      },
      config: { errorHandling: "dead-letter" },
    });
  const stream = (b: Parameters<Parameters<typeof defineApp>[0]["topology"]>[0]) =>
    b.stream<string, number>("in", { keySerde: str, valueSerde: json as never });

  it("getStateStore of a store not connected names it and says how to connect it", () => {
    class Reader implements Processor<string, number, string, number> {
      init(context: ProcessorContext<string, number>): void {
        context.getStateStore<ProcessorKeyValueStore<string, number>>("kv");
      }
      process(): void {}
    }
    // added to the builder but not named in process(): a clear error, with a code
    expect(() => new TopologyTestDriver(appWith(() => new Reader(), []))).toThrow(
      expect.objectContaining({
        code: "STORE_NOT_CONNECTED",
        message: expect.stringContaining(
          "processor 'custom' is not connected to a store named 'kv'",
        ),
      }),
    );
    class Other implements Processor<string, number, string, number> {
      init(context: ProcessorContext<string, number>): void {
        context.getStateStore("nope");
      }
      process(): void {}
    }
    expect(() => new TopologyTestDriver(appWith(() => new Other(), ["kv"]))).toThrow(
      expect.objectContaining({
        code: "STORE_NOT_CONNECTED",
        message: expect.stringMatching(/'nope'.*connected: kv.*builder\.addStateStore/),
      }),
    );
  });

  it("process() naming a store never added fails at build, naming it", () => {
    expect(() => new TopologyTestDriver(appWith(() => ({ process() {} }), ["missing"]))).toThrow(
      expect.objectContaining({
        code: "INVALID_TOPOLOGY",
        message: expect.stringMatching(/names store 'missing'.*added: kv.*addStateStore/),
      }),
    );
  });

  it("forward to an unknown child names it and stops the task instead of dead-lettering", () => {
    class Misrouter implements Processor<string, number, string, number> {
      private context!: ProcessorContext<string, number>;
      init(context: ProcessorContext<string, number>): void {
        this.context = context;
      }
      process(record: Record<string, number>): void {
        this.context.forward(record, record.value > 1 ? "big" : "small");
      }
    }
    const app = appWith(
      () => new Misrouter(),
      [],
      (s) => {
        s.filter(() => true, { name: "small" }).to("small-out");
      },
    );
    const driver = new TopologyTestDriver(app);
    const input = driver.createInputTopic<string, number>("in", str, json as never);
    input.pipeInput("a", 1, 0);
    expect(driver.createOutputTopic("small-out").readValuesToList()).toEqual([1]);
    expect(() => input.pipeInput("a", 2, 1)).toThrow(
      expect.objectContaining({
        code: "UNKNOWN_CHILD",
        message: expect.stringContaining(
          "processor 'custom' has no child named 'big' (children: small)",
        ),
      }),
    );
    expect(driver.createOutputTopic("misuse-dlq").isEmpty()).toBe(true);
    driver.close();
  });

  it("processValues refuses a changed key; process may change it", () => {
    const app = defineApp({
      applicationId: "fixed",
      topology: (b) => {
        b.stream<string, number>("in", { keySerde: str, valueSerde: json as never })
          .processValues<number>(() => {
            let ctx!: ProcessorContext<string, number>;
            return {
              init: (c) => {
                ctx = c;
              },
              process: (r) =>
                ctx.forward(r.value > 1 ? r.withKey(`${r.key}!`) : r.withValue(r.value * 10)),
            };
          })
          .to("out", { keySerde: str, valueSerde: json as never });
      },
    });
    const driver = new TopologyTestDriver(app);
    const input = driver.createInputTopic<string, number>("in", str, json as never);
    input.pipeInput("a", 1, 0);
    expect(driver.createOutputTopic("out", str, json).readKeyValuesToList()).toEqual([["a", 10]]);
    expect(() => input.pipeInput("a", 2, 1)).toThrow(
      expect.objectContaining({ code: "KEY_CHANGED" }),
    );
    driver.close();
  });
});

describe("custom processors in the compiled topology", () => {
  const kv = (name: string) =>
    Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(name), str, Serdes.json<number>());

  it("a stateful processor after a key change reads a repartition topic; a stateless one does not", () => {
    const app = defineApp({
      applicationId: "topo",
      topology: (b) => {
        b.addStateStore(kv("counts")).addStateStore(kv("local").withLoggingDisabled());
        const rekeyed = b.stream<string, number>("in").selectKey((_k, v) => String(v));
        rekeyed.process(() => ({ process() {} }), { name: "stateless" }).to("out-a");
        rekeyed
          .process(() => ({ process() {} }), { name: "counter" }, "counts", "local")
          .to("out-b");
      },
    });
    const topology = app.build();
    expect(topology.internalTopics.map((t) => t.name).sort()).toEqual([
      "topo-counter-repartition",
      "topo-counts-changelog",
    ]);
    expect(topology.stores.get("local")?.changelogTopic).toBeNull();
  });

  it("a supplier that hands out one shared processor is refused at the second task", () => {
    const shared = { process() {} };
    const app = defineApp({
      applicationId: "shared",
      topology: (b) => {
        b.stream<string, number>("in")
          .process(() => shared, { name: "shared-processor" })
          .to("out");
      },
    });
    const sub = app.build().subtopologies[0]!;
    const task = (partition: number) =>
      new StreamTask({
        applicationId: "shared",
        subtopology: sub,
        partition,
        collector: { send() {} },
        openStore: () => {
          throw new Error("no stores here");
        },
        errorHandling: "fail",
        deadLetterTopic: "shared-dlq",
      });
    task(0).close();
    expect(() => task(1)).toThrow(
      /supplier of processor 'shared-processor' returned the same processor twice/,
    );
  });
});
