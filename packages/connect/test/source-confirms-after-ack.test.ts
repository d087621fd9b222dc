import type { LogClient, Producer } from "@tributary/log";
import { afterEach, describe, expect, it } from "vitest";
import {
  NO_PG,
  cdcSource,
  cleanup,
  freshDatabase,
  openTestLog,
  readTopic,
  sql,
  startWorker,
  waitFor,
} from "./helpers.js";

afterEach(cleanup);

/** A log whose sends to `topic` wait until the gate opens (a slow or unreachable log). */
function gatedLog(log: LogClient, topic: string) {
  let open!: () => void;
  let gate = new Promise<void>((r) => {
    open = r;
  });
  let held = 0;
  const wrapped: LogClient = {
    admin: log.admin,
    consumer: (o) => log.consumer(o),
    transactionalProducer: (o) => log.transactionalProducer(o),
    close: () => log.close(),
    producer: (o) => {
      const p = log.producer(o);
      return {
        send: async (t, records) => {
          if (t === topic) {
            held++;
            await gate;
          }
          return p.send(t, records);
        },
        close: () => p.close(),
      } satisfies Producer;
    },
  };
  return {
    log: wrapped,
    held: () => held,
    open: () => open(),
    close: () => {
      gate = new Promise<void>((r) => {
        open = r;
      });
    },
  };
}

async function slotLsn(url: string, slot: string): Promise<bigint> {
  const [row] = await sql<{ n: string }>(
    url,
    "SELECT (confirmed_flush_lsn - '0/0')::text AS n FROM pg_replication_slots WHERE slot_name = $1",
    [slot],
  );
  return BigInt(row!.n);
}

describe.skipIf(NO_PG)(
  "the Postgres source confirms an LSN only after the log acknowledged",
  () => {
    it("holds the slot while the log does not acknowledge, then moves it past the changes", async () => {
      const url = await freshDatabase("confirm");
      await sql(url, "CREATE TABLE items (id int PRIMARY KEY, v text)");
      const log = await openTestLog();
      const gated = gatedLog(log, "c.public.items");
      gated.open(); // the (empty) snapshot goes through
      const worker = await startWorker(gated.log, {
        connectors: [
          cdcSource({
            connection: url,
            tables: ["items"],
            topicPrefix: "c",
            heartbeatIntervalMs: 200,
          }),
        ],
      });
      await waitFor("the stream to start", async () => worker.metrics.total("heartbeats") >= 1);
      gated.close();
      const before = await slotLsn(url, "tributary_c");
      await sql(url, "INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 500) g");
      const [{ n: afterInsert }] = (await sql<{ n: string }>(
        url,
        "SELECT (pg_current_wal_lsn() - '0/0')::text AS n",
      )) as [{ n: string }];
      await waitFor(
        "the task to receive the insert",
        async () => worker.metrics.total("changes") >= 500,
      );
      await waitFor("the send to be held", async () => gated.held() >= 1);
      // Idle keepalives keep coming; none of them may move the slot past the unsent changes.
      await new Promise((r) => setTimeout(r, 1500));
      const held = await slotLsn(url, "tributary_c");
      expect(held).toBeLessThan(BigInt(afterInsert));
      expect(held).toBeGreaterThanOrEqual(before);

      gated.open();
      await waitFor(
        "the slot to move past the insert",
        async () => (await slotLsn(url, "tributary_c")) >= BigInt(afterInsert),
      );
      const records = await readTopic(log, "c.public.items");
      expect(records.length).toBe(500);
    });
  },
);
