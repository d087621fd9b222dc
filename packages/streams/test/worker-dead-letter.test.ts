import path from "node:path";
import { connectBroker, openEmbeddedLog, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { DeadLetterHeaders, defineApp, runWorker, WorkerFailedError } from "../src/index.js";
import {
  produce,
  readTopic,
  startBrokerProcess,
  startWorker,
  stopWorker,
  tempDir,
  waitForTable,
} from "./runtime-helpers.js";

const str = Serdes.string();
const bytes = Serdes.bytes();
const good = (account: string, amount: number) => ({
  key: Buffer.from(account),
  value: Buffer.from(JSON.stringify({ amount })),
});

describe("poison records in a running worker", () => {
  it("an undecodable record and one whose function throws land in <app>-dlq with their error, and processing goes on", async () => {
    const b = await startBrokerProcess(tempDir("dlq-broker"));
    const log = await connectBroker(b.address);
    try {
      await log.admin.createTopic("payments", { partitions: 2 });
      await log.admin.createTopic("balances", { partitions: 2 });
      const w = await startWorker(b.address, "poison-app.ts", tempDir("dlq-state"));
      await produce(log, "payments", [
        good("acme", 10),
        { key: Buffer.from("acme"), value: Buffer.from("{not json") },
        good("acme", -5),
        good("acme", 7),
        good("zeta", 1),
      ]);
      await produce(
        log,
        "payments",
        Array.from({ length: 500 }, (_, i) => good(i % 2 ? "acme" : "zeta", 1)),
      );
      const expected = new Map([
        ["acme", 17 + 250],
        ["zeta", 1 + 250],
      ]);
      await waitForTable(
        log,
        "balances",
        str,
        Serdes.json<number>(),
        (t) => t.get("acme") === 267 && t.get("zeta") === 251,
        "the balances",
      );
      await stopWorker(w);
      expect((await readTopic(log, "balances", str, Serdes.json<number>())).table).toEqual(
        expected,
      );

      const dlq = await readTopic(log, "poison-app-dlq", bytes, bytes);
      expect(dlq.records.length).toBe(2);
      const byStage = new Map(
        dlq.records.map((r) => [r.headers[DeadLetterHeaders.stage]!.toString(), r]),
      );
      const undecodable = byStage.get("deserialization")!;
      expect(undecodable.value!.toString()).toBe("{not json");
      expect(undecodable.headers[DeadLetterHeaders.topic]!.toString()).toBe("payments");
      const thrown = byStage.get("processing")!;
      expect(thrown.headers[DeadLetterHeaders.message]!.toString()).toContain("negative amount -5");
      expect(thrown.headers[DeadLetterHeaders.processor]!.toString()).toBe("check-amount");
      // Dead letters keep their records' old timestamps: time retention must not delete them.
      expect((await log.admin.describeTopic("poison-app-dlq")).config.retentionMs).toBe(-1);
    } finally {
      await log.close();
      b.proc.kill("SIGTERM");
      await b.proc.exited;
    }
  });

  it('with errorHandling "fail" the worker stops with an error naming the record, and commits nothing past it', async () => {
    const dir = tempDir("dlq-fail");
    const log = await openEmbeddedLog(path.join(dir, "log"));
    try {
      await log.admin.createTopic("amounts", { partitions: 1 });
      await log.admin.createTopic("totals", { partitions: 1 });
      const app = defineApp({
        applicationId: "strict-app",
        config: { errorHandling: "fail" },
        topology: (builder) => {
          builder
            .stream<string, number>("amounts", { keySerde: str, valueSerde: Serdes.json() })
            .groupByKey()
            .reduce((a, c) => a + c, { storeName: "sums", valueSerde: Serdes.json<number>() })
            .toStream()
            .to("totals", { keySerde: str, valueSerde: Serdes.json<number | null>() });
        },
      });
      await produce(log, "amounts", [
        { key: Buffer.from("a"), value: Buffer.from("1") },
        { key: Buffer.from("a"), value: Buffer.from("oops") },
        { key: Buffer.from("a"), value: Buffer.from("2") },
      ]);
      const errors: Error[] = [];
      const worker = runWorker(app, {
        log,
        stateDir: path.join(dir, "state"),
        onError: (e) => errors.push(e),
      });
      await worker.start();
      const failure = await worker.done.then(
        () => null,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(WorkerFailedError);
      expect((failure as Error).message).toMatch(/amounts-0 offset 1/);
      expect(errors).toEqual([failure]);
      expect(worker.metrics().state).toBe("failed");
      // no commit covers the poison record: a restart meets it again
      const committed = await log.admin.fetchCommittedOffsets("strict-app", ["amounts"]);
      expect(committed.every((c) => c.offset <= 1)).toBe(true);
    } finally {
      await log.close();
    }
  });
});
