import { partitionForKey } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { TopologyTestDriver } from "../src/testing/index.js";
import {
  clickRecords,
  clickReference,
  countSerde,
  diff,
  generateClicks,
  onBroker,
  pageWindowKey,
  runClickApp,
} from "./event-time-helpers.js";
import clicksApp, { type Click } from "./fixtures/clicks-app.js";
import { produce, readTopic } from "./runtime-helpers.js";

// Issue 12 / 11: the test driver must answer what production answers. The clicks app
// (hopping windows after a groupBy, so a repartition topic between two sub-topologies)
// over an hour of history in 4 partitions, produced partition by partition as a slow
// producer or a replay can leave it: a real run of 2 worker processes gives the
// reference, and so must the driver with the same partitions. A one-partition driver
// whose stream time is the largest time seen lets partition 0's hour close the windows
// of the other partitions' records, and drops them.

const PARTITIONS = 4;

/** The clicks in the order they are produced: all of partition 0's, then 1's, … */
function byPartition(clicks: readonly Click[]): Click[] {
  const of = (c: Click) => partitionForKey(Buffer.from(c.user), PARTITIONS);
  return [...clicks].sort((a, b) => of(a) - of(b));
}

/** The final count per `page@start` the driver's app wrote, under `order`. */
function driverTable(
  clicks: readonly Click[],
  interleave?: "as-piped" | "round-robin",
): Map<string, number> {
  const driver = new TopologyTestDriver(clicksApp, {
    partitions: PARTITIONS,
    ...(interleave === undefined ? {} : { interleave }),
  });
  const input = driver.createInputTopic<string, Click>("clicks");
  for (const c of clicks) input.pipeInput(c.user, c, c.ts);
  const out = driver.createOutputTopic(`${clicksApp.applicationId}-out`, pageWindowKey, countSerde);
  const table = new Map<string, number>();
  for (const [k, v] of out.readKeyValuesToList()) {
    if (v === null) table.delete(k);
    else table.set(k, v);
  }
  driver.close();
  return table;
}

describe("the test driver over several partitions", () => {
  it("gives a 2-worker run's windowed counts (groupBy repartition, 4 partitions, input skewed by partition)", {
    timeout: 240_000,
  }, async () => {
    const clicks = byPartition(generateClicks(6_000, 23));
    const want = clickReference(clicks);
    const inDriver = driverTable(clicks);
    expect(diff(inDriver, want), "test driver").toBe(diff(want, want));
    expect(diff(driverTable(clicks, "round-robin"), want), "round-robin").toBe(diff(want, want));

    await onBroker(["clicks", "clicks-driver-out"], PARTITIONS, async (backend) => {
      await produce(backend.log, "clicks", clickRecords(clicks));
      await runClickApp(backend, "clicks-driver", 2);
      const real = (await readTopic(backend.log, "clicks-driver-out", pageWindowKey, countSerde))
        .table as Map<string, number>;
      expect(diff(real, want), "2 workers").toBe(diff(want, want));
      expect(diff(inDriver, real), "driver vs 2 workers").toBe(diff(real, real));
    });
  });
});
