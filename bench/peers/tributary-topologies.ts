import { Serdes } from "@tributary/log";
import { type App, defineApp, JoinWindows, TimeWindows } from "@tributary/streams";
import { longSerde } from "./long-serde.js";
import type { WorkloadName } from "./workloads.js";

/**
 * The peer benchmark's topologies in Tributary's DSL; kafka-streams/…/PeerBench.java has the
 * same ones in Kafka Streams'. Counts go out as int64 (long-serde.ts), windowed counts keyed
 * `<key>@<window start>`, so every system's output decodes the same way.
 */

const str = Serdes.string();
const bytes = Serdes.bytes();

export interface TopologyTopics {
  inputs: string[];
  output: string;
}

export function tributaryApp(workload: WorkloadName, appId: string, t: TopologyTopics): App {
  const [input, input2] = t.inputs as [string, string | undefined];
  return defineApp({
    applicationId: appId,
    topology: (b) => {
      switch (workload) {
        case "wordCount":
          // groupBy a new key: a repartition topic, then a RocksDB count with changelog and cache
          b.stream<string | null, string>(input, { keySerde: str, valueSerde: str })
            .groupBy((_k, word) => word, { keySerde: str, valueSerde: str })
            .count({ storeName: "counts" })
            .toStream()
            .to(t.output, { keySerde: str, valueSerde: longSerde });
          return;
        case "stateless":
          b.stream<Buffer, Buffer>(input, { keySerde: bytes, valueSerde: bytes })
            .mapValues((v) => v)
            .filter((k) => k !== null)
            .to(t.output, { keySerde: bytes, valueSerde: bytes });
          return;
        case "windowedCount":
          b.stream<string, Buffer>(input, { keySerde: str, valueSerde: bytes })
            .groupByKey()
            .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 10_000))
            .count({ storeName: "windowed-counts" })
            .toStream()
            .map((wk, c): readonly [string, number | null] => [`${wk.key}@${wk.window.start}`, c])
            .to(t.output, { keySerde: str, valueSerde: longSerde });
          return;
        case "streamJoin": {
          const l = b.stream<string, Buffer>(input, { keySerde: str, valueSerde: bytes });
          const r = b.stream<string, Buffer>(input2!, { keySerde: str, valueSerde: bytes });
          l.join(
            r,
            (a: Buffer, _x: Buffer) => a,
            JoinWindows.ofTimeDifferenceAndGrace(5000, 1000),
            {
              name: "pairs",
            },
          ).to(t.output, { keySerde: str, valueSerde: bytes });
          return;
        }
        case "restore":
          // the store's changelog (<applicationId>-kv-changelog) was filled by the parent
          b.table<Buffer, Buffer>(
            input,
            { keySerde: bytes, valueSerde: bytes },
            { storeName: "kv" },
          );
          return;
      }
    },
  });
}
