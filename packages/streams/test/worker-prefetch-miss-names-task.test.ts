import path from "node:path";
import { openEmbeddedLog, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import {
  defineApp,
  PrefetchMissError,
  type Processor,
  type ProcessorContext,
  type ProcessorKeyValueStore,
  type Record,
  runWorker,
  Stores,
  WorkerFailedError,
} from "../src/index.js";
import { produce, tempDir } from "./runtime-helpers.js";

const str = Serdes.string();

/** Reads its RocksDB store by a key that is not the record's: a bug the worker must name. */
class ReadsOtherKey implements Processor<string, string, string, string> {
  private store!: ProcessorKeyValueStore<string, string>;

  init(context: ProcessorContext<string, string>): void {
    this.store = context.getStateStore("seen");
  }

  process(record: Record<string, string>): void {
    this.store.get(`other-${record.key}`);
  }
}

const app = defineApp({
  applicationId: "misreads",
  topology: (b) => {
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("seen"), str, str));
    b.stream<string, string>("in", { keySerde: str, valueSerde: str }).process(
      () => new ReadsOtherKey(),
      { name: "reads-other-key" },
      "seen",
    );
  },
});

describe("a processor reading a RocksDB store by a key that was not prefetched", () => {
  it("stops the worker with a PrefetchMissError naming the store and the task (state's miss mapped by the runtime)", async () => {
    const dir = tempDir("prefetch-miss");
    const log = await openEmbeddedLog(path.join(dir, "log"));
    try {
      await log.admin.createTopic("in", { partitions: 1 });
      await produce(log, "in", [{ key: Buffer.from("k"), value: Buffer.from("v") }]);
      const worker = runWorker(app, { log, stateDir: path.join(dir, "state") });
      await worker.start();
      const failure = await worker.done.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(WorkerFailedError);
      let cause = (failure as Error).cause;
      while (cause instanceof Error && !(cause instanceof PrefetchMissError)) cause = cause.cause;
      expect(cause).toBeInstanceOf(PrefetchMissError);
      const miss = cause as PrefetchMissError;
      expect(miss.code).toBe("PREFETCH_MISS");
      expect(miss.store).toBe("seen");
      expect(miss.taskId).toBe("0_0");
    } finally {
      await log.close();
    }
  });
});
