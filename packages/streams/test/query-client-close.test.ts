import fs from "node:fs";
import path from "node:path";
import { openEmbeddedLog } from "@tributary/log";
import { afterAll, describe, expect, it } from "vitest";
import { queryClient } from "../src/index.js";
import app from "./fixtures/query-app.js";
import { queryAppOnOneWorker } from "./query-helpers.js";
import { eventually, tempDir } from "./runtime-helpers.js";

const dir = tempDir("q-close");
const log = await openEmbeddedLog(path.join(dir, "log"));
afterAll(async () => {
  await log.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Open TCP sockets of this process (the worker's accepted ones and the client's). */
const tcpSockets = () =>
  process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;

describe("closing a query client", () => {
  it("drops its pooled connections, and later queries fail with CLIENT_CLOSED instead of reconnecting", async () => {
    const { worker, q, ref, word } = await queryAppOnOneWorker(log, path.join(dir, "state"), 7);
    try {
      // several reads in parallel so the pool holds more than one connection
      await Promise.all(ref.words.map((w) => q.store("counts").get(w)));
      const open = tcpSockets();
      q.close();
      // each pooled connection closes on both ends (the worker serves in this process)
      await eventually(() => (tcpSockets() < open ? true : undefined), "the pool to close");
      await expect(q.store("counts").get(word)).rejects.toMatchObject({ code: "CLIENT_CLOSED" });
      await expect(q.store("counts").all()).rejects.toMatchObject({ code: "CLIENT_CLOSED" });
      // a new client reads again
      const again = queryClient(app, { log, timeoutMs: 30_000 });
      expect(await again.store("counts").get(word)).toBe(ref.counts.get(word));
      again.close();
    } finally {
      await worker.stop();
    }
  });
});
