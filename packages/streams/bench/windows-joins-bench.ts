import { type LogClient, Serdes } from "@tributary/log";
import { type App, defineApp, JoinWindows, TimeWindows, windowedSerde } from "../src/index.js";

/**
 * The windowed and join runs of the streams bench (streams-bench.ts measures them):
 * - windowed count: 1-minute tumbling windows (grace 10 s) over 10,000 keys, in a RocksDB
 *   window store with its changelog, records 1 ms of event time apart (60,000 per window);
 * - stream-stream join: two topics of 10,000 keys each, joined inside ±5 s (grace 1 s),
 *   each key coming back every 10 s per side, so a record meets about one partner.
 */

const str = Serdes.string();
const bytes = Serdes.bytes();
const BASE_TIME = 1_700_000_000_000;

export function windowedCountApp(input: string, output: string): App {
  return defineApp({
    applicationId: "bench-windowed",
    topology: (b) => {
      b.stream<string, Buffer>(input, { keySerde: str, valueSerde: bytes })
        .groupByKey()
        .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 10_000))
        .count({ storeName: "windowed-counts" })
        .toStream()
        // the counts go out in the default serde (MessagePack), as the store holds them
        .to(output, { keySerde: windowedSerde(str) });
    },
  });
}

export function streamJoinApp(left: string, right: string, output: string): App {
  return defineApp({
    applicationId: "bench-join",
    topology: (b) => {
      const l = b.stream<string, Buffer>(left, { keySerde: str, valueSerde: bytes });
      const r = b.stream<string, Buffer>(right, { keySerde: str, valueSerde: bytes });
      l.join(r, (a: Buffer, _b: Buffer) => a, JoinWindows.ofTimeDifferenceAndGrace(5000, 1000), {
        name: "pairs",
      }).to(output, { keySerde: str, valueSerde: bytes });
    },
  });
}

/** `n` 100-byte records over 10,000 keys, record i at event time BASE + i ms. */
export async function fillTimed(log: LogClient, topic: string, n: number): Promise<void> {
  const producer = log.producer();
  const value = Buffer.alloc(90, 0x62);
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < n; i += 10_000) {
    const records = [];
    for (let j = i; j < Math.min(n, i + 10_000); j++) {
      records.push({
        key: Buffer.from(`key-${String(j % 10_000).padStart(5, "0")}`),
        value,
        timestamp: BASE_TIME + j,
      });
    }
    inFlight.push(producer.send(topic, records));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await producer.close();
}
