import fs from "node:fs";
import path from "node:path";
import { openEmbeddedLog } from "@tributary/log";
import { afterAll, describe, expect, expectTypeOf, it } from "vitest";
import { defineApp, Serdes, type WindowedEntry } from "../src/index.js";
import { queryAppOnOneWorker } from "./query-helpers.js";
import { tempDir } from "./runtime-helpers.js";

const dir = tempDir("q-types");
const log = await openEmbeddedLog(path.join(dir, "log"));
afterAll(async () => {
  await log.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

// `npm run typecheck:tests` (part of lint) compiles this file: each @ts-expect-error must
// meet a type error, or the check fails. At run time the same calls fail with a code.
describe("the typed query client", () => {
  it("takes store names and key and value types from the tables the topology returns; what does not compile fails at run time too", async () => {
    const { worker, q, ref, word } = await queryAppOnOneWorker(log, path.join(dir, "state"), 5);
    try {
      const count = await q.store("counts").get(word);
      expectTypeOf(count).toEqualTypeOf<number | null>();
      const windows = await q.store("hourly").fetch(word, 0, Date.now());
      expectTypeOf(windows).toEqualTypeOf<WindowedEntry<string, number>[]>();
      expect(windows.map((w) => [w.start, w.value])).toEqual(ref.hourly.get(word));

      // @ts-expect-error a store the topology did not return
      expect(() => q.store("count")).toThrow(expect.objectContaining({ code: "UNKNOWN_STORE" }));
      // @ts-expect-error the key of counts is a string
      await expect(q.store("counts").get(42)).rejects.toMatchObject({ code: "BAD_KEY" });
      // @ts-expect-error a window store has no point get: fetch a key's windows
      expect(q.store("hourly").get).toBeUndefined();
      // @ts-expect-error a key-value store has no fetch
      expect(q.store("counts").fetch).toBeUndefined();
      // @ts-expect-error the sessions' key is a string too
      await expect(q.store("sessions").fetch({ word })).rejects.toMatchObject({ code: "BAD_KEY" });
      // @ts-expect-error a count is a number, not a string
      const s: string | null = await q.store("counts").get(word);
      expect(typeof s).toBe("number");
    } finally {
      await worker.stop();
    }
  });

  it("refuses a topology that returns a table under another name than its store's, or one with no store", () => {
    const misnamed = defineApp({
      applicationId: "misnamed",
      topology: (b) => ({
        totals: b
          .stream<string, string>("in", { keySerde: Serdes.string() })
          .groupByKey()
          .count({ storeName: "counts" }),
      }),
    });
    expect(() => misnamed.build()).toThrow(
      /returned 'totals' for queries, but it is the store 'counts'/,
    );
    const unmaterialized = defineApp({
      applicationId: "unmaterialized",
      topology: (b) => ({
        t: b.table<string, string>("in", { keySerde: Serdes.string() }).mapValues((v) => v.length),
      }),
    });
    expect(() => unmaterialized.build()).toThrow(/a table with no store/);
  });
});
