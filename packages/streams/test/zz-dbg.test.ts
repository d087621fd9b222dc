import { it } from "vitest";
import { defineApp, Serdes } from "../src/index.js";
import { TopologyTestDriver } from "../src/testing/index.js";
import { TimeWindows } from "../src/windows/time-windows.js";
import { str } from "./helpers.js";
const app = defineApp({
  applicationId: "final-views",
  topology: (b) => {
    b.stream<string, string>("views", { keySerde: str, valueSerde: str })
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(60000, 10000))
      .count({ storeName: "per-user" });
  },
});
it("dbg", () => {
  const driver = new TopologyTestDriver(app);
  const input = driver.createInputTopic<string, string>("views");
  for (let i = 0; i < 5; i++) { console.log("pipe", i); input.pipeInput("u" + (i % 2), "x", 1000 * i); }
  console.log("done");
});
