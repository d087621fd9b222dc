import { type LogClient, Serdes, TributaryError } from "@tributary/log";
import { type App, defineApp, type ProcessingGuarantee, type WorkerOptions } from "../src/index.js";

/**
 * Word count (count per key, RocksDB + cache + changelog) at exactly-once against
 * at-least-once, in the same run, at commit intervals of 100 ms and 1 s: each run a new
 * application over the same input, so each reads it all. Returns the 100 ms rates (null
 * for exactly-once when the log has no transactions: the embedded log and the broker
 * refuse with UNSUPPORTED until their transaction coordinator lands).
 */
export async function measureGuarantees(
  log: LogClient,
  input: string,
  partitions: number,
  run: (app: App, options: Partial<WorkerOptions>, label: string) => Promise<number>,
): Promise<{ atLeastOnce: number; exactlyOnce: number | null }> {
  const rates = new Map<string, number | null>();
  for (const commitIntervalMs of [100, 1000]) {
    for (const guarantee of ["at_least_once", "exactly_once"] as ProcessingGuarantee[]) {
      const id = `bench-wc-${guarantee === "exactly_once" ? "eos" : "alos"}-${commitIntervalMs}`;
      const output = `${id}-out`;
      await log.admin.createTopic(output, { partitions, config: { retentionMs: -1 } });
      const app = defineApp({
        applicationId: id,
        config: { processingGuarantee: guarantee },
        topology: (b) => {
          b.stream<string, Buffer>(input, { keySerde: Serdes.string(), valueSerde: Serdes.bytes() })
            .groupByKey()
            .count({ storeName: "counts" })
            .toStream()
            .to(output, { keySerde: Serdes.string(), valueSerde: Serdes.msgpack() });
        },
      });
      const label = `word count ${guarantee}, commit every ${commitIntervalMs} ms`;
      try {
        rates.set(`${guarantee}/${commitIntervalMs}`, await run(app, { commitIntervalMs }, label));
      } catch (e) {
        if (!(e instanceof TributaryError && unsupported(e))) throw e;
        console.log(`${label}: not measured (${e.message})`);
        rates.set(`${guarantee}/${commitIntervalMs}`, null);
      }
    }
  }
  const alos = rates.get("at_least_once/100")!;
  const eos = rates.get("exactly_once/100") ?? null;
  if (alos !== null && eos !== null) {
    console.log(`exactly-once / at-least-once at 100 ms: ${(eos / alos).toFixed(2)}`);
    const alos1s = rates.get("at_least_once/1000");
    const eos1s = rates.get("exactly_once/1000");
    if (alos1s && eos1s)
      console.log(`exactly-once / at-least-once at 1 s: ${(eos1s / alos1s).toFixed(2)}`);
  }
  return { atLeastOnce: alos ?? 0, exactlyOnce: eos };
}

function unsupported(e: TributaryError): boolean {
  let c: unknown = e;
  while (c instanceof Error) {
    if ((c as { code?: unknown }).code === "UNSUPPORTED") return true;
    c = c.cause;
  }
  return false;
}
