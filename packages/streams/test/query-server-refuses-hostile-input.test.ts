import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { openEmbeddedLog, partitionForKey } from "@tributary/log";
import { afterEach, describe, expect, it } from "vitest";
import { QueryError, queryClient, RoutedQueries, runWorker, type Worker } from "../src/index.js";
import { LocalStoreRegistry } from "../src/runtime/local-store-registry.js";
import { QueryEndpointPublisher } from "../src/runtime/query-endpoint-publisher.js";
import { QueryServer } from "../src/runtime/query-server.js";
import app from "./fixtures/query-app.js";
import { generatePlays, PLAYS_TOPIC, producePlays, queryReference } from "./query-helpers.js";
import { eventually, tempDir } from "./runtime-helpers.js";

const SECRET = "s3cret-for-this-test";
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A raw HTTP request (node:http: fetch would refuse some of what a hostile client sends). */
function request(
  url: string,
  options: {
    method?: string;
    path: string;
    body?: string | Buffer;
    headers?: http.OutgoingHttpHeaders;
  },
): Promise<{
  status: number;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
}> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        method: options.method ?? "POST",
        path: options.path,
        headers: { authorization: `Bearer ${SECRET}`, ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
      },
    );
    // the server may answer and close before a large body is sent: that is the point
    req.on("error", (e) =>
      (e as NodeJS.ErrnoException).code === "EPIPE" ||
      (e as NodeJS.ErrnoException).code === "ECONNRESET"
        ? undefined
        : reject(e),
    );
    req.end(options.body);
  });
}

async function startWorker(): Promise<{
  worker: Worker;
  log: Awaited<ReturnType<typeof openEmbeddedLog>>;
}> {
  const dir = tempDir("q-hostile");
  const log = await openEmbeddedLog(path.join(dir, "log"));
  await log.admin.createTopic("q-plays", { partitions: 3, config: PLAYS_TOPIC });
  const worker = runWorker(app, {
    log,
    stateDir: path.join(dir, "state"),
    commitIntervalMs: 100,
    query: { secret: SECRET },
  });
  await worker.start();
  cleanups.push(async () => {
    await worker.stop();
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { worker, log };
}

describe("a worker's query server", () => {
  it("answers unknown stores, bad keys, huge bodies, malformed paths and missing secrets with coded errors, and keeps processing and answering", async () => {
    const { worker, log } = await startWorker();
    const plays = generatePlays(500, 40, 3);
    await producePlays(log, plays);
    const ref = queryReference(plays);
    const q = queryClient(app, { log, secret: SECRET, timeoutMs: 60_000 });
    const word = ref.words[0]!;
    await eventually(
      async () => ((await q.store("counts").get(word)) === ref.counts.get(word) ? true : undefined),
      "the first count",
    );
    const url = worker.queryUrl;
    const cases: [string, Parameters<typeof request>[1], number, string][] = [
      [
        "unknown store",
        { path: "/v1/stores/nope/get", body: '{"key":{"json":"a"}}' },
        404,
        "UNKNOWN_STORE",
      ],
      [
        "a number for a string key",
        { path: "/v1/stores/counts/get", body: '{"key":{"json":42}}' },
        400,
        "BAD_KEY",
      ],
      [
        "bytes that are not UTF-8 for a string key",
        {
          path: "/v1/stores/counts/get",
          body: JSON.stringify({
            key: { b64: Buffer.from([0xff, 0xfe, 0xc0]).toString("base64") },
          }),
        },
        400,
        "BAD_KEY",
      ],
      [
        "a key that is neither json nor b64",
        { path: "/v1/stores/counts/get", body: '{"key":"kafka"}' },
        400,
        "BAD_REQUEST",
      ],
      ["no key", { path: "/v1/stores/counts/get", body: "{}" }, 400, "BAD_REQUEST"],
      [
        "a body that is not JSON",
        { path: "/v1/stores/counts/get", body: "{nope" },
        400,
        "BAD_REQUEST",
      ],
      [
        "a body of 1 MiB",
        { path: "/v1/stores/counts/get", body: Buffer.alloc(1024 * 1024, 0x20) },
        413,
        "REQUEST_TOO_LARGE",
      ],
      [
        "a chunked body past the limit",
        {
          path: "/v1/stores/counts/get",
          body: Buffer.alloc(200 * 1024, 0x20),
          headers: { "transfer-encoding": "chunked" },
        },
        413,
        "REQUEST_TOO_LARGE",
      ],
      ["bad percent-encoding", { path: "/v1/stores/%E0%A4%A/get", body: "{}" }, 400, "BAD_REQUEST"],
      ["an unknown path", { path: "/../../etc/passwd", body: "{}" }, 400, "BAD_REQUEST"],
      [
        "an unknown operation",
        { path: "/v1/stores/counts/delete", body: "{}" },
        400,
        "BAD_REQUEST",
      ],
      ["GET", { method: "GET", path: "/v1/stores/counts/all" }, 400, "BAD_REQUEST"],
      [
        "a window fetch of a key-value store",
        { path: "/v1/stores/counts/fetch", body: '{"key":{"json":"a"}}' },
        400,
        "BAD_REQUEST",
      ],
      [
        "a range of a window store",
        { path: "/v1/stores/hourly/range", body: "{}" },
        400,
        "BAD_REQUEST",
      ],
      [
        "a limit of 10^9",
        { path: "/v1/stores/counts/all", body: '{"limit":1000000000}' },
        400,
        "BAD_REQUEST",
      ],
      [
        "a negative time",
        { path: "/v1/stores/hourly/all", body: '{"timeFrom":-5}' },
        400,
        "BAD_REQUEST",
      ],
      [
        "no secret",
        { path: "/v1/stores/counts/all", body: "{}", headers: { authorization: "" } },
        401,
        "UNAUTHORIZED",
      ],
      [
        "a wrong secret",
        {
          path: "/v1/stores/counts/all",
          body: "{}",
          headers: { authorization: "Bearer s3cret-for-this-tesT" },
        },
        401,
        "UNAUTHORIZED",
      ],
    ];
    for (const [what, req, status, code] of cases) {
      const r = await request(url, req);
      expect({ what, status: r.status, code: r.body.error?.code }).toEqual({ what, status, code });
      expect(r.body.error!.message.length, what).toBeGreaterThan(20);
    }
    // a key elsewhere is NOT_OWNER with its partition (here: never, one worker holds all)
    const ok = await request(url, {
      path: "/v1/stores/counts/get",
      body: JSON.stringify({ key: { json: word } }),
    });
    expect(ok.status).toBe(200);
    expect(ok.body.partition).toBe(partitionForKey(Buffer.from(word), 3));
    // the client: an unknown store fails at once, a wrong secret is not retried
    expect(() => q.store("nope" as "counts")).toThrow(
      expect.objectContaining({ code: "UNKNOWN_STORE" }),
    );
    const wrong = queryClient(app, { log, secret: "wrong", timeoutMs: 5_000 });
    await expect(wrong.store("counts").get(word)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    const noApp = new RoutedQueries("no-such-app", { log, timeoutMs: 1_000 });
    await expect(noApp.point("counts", "get", { json: word })).rejects.toMatchObject({
      code: "UNKNOWN_APP",
    });

    // still processing, still answering: more plays of the word reach its count
    const more = generatePlays(300, 40, 4);
    await producePlays(log, more);
    const after = queryReference([...plays, ...more]);
    await eventually(async () => {
      const all = await q.store("counts").all();
      return all.length === after.words.length &&
        all.every((e) => e.value === after.counts.get(e.key))
        ? true
        : undefined;
    }, "counts after the hostile requests");
    expect(worker.metrics().state).toBe("running");
  });

  it("answers STORE_NOT_READY for a task restoring here and NOT_OWNER for one elsewhere; the client retries within its bound, then fails with the code", async () => {
    const dir = tempDir("q-not-ready");
    const log = await openEmbeddedLog(path.join(dir, "log"));
    cleanups.push(async () => {
      await log.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    await log.admin.createTopic("q-plays", { partitions: 3, config: PLAYS_TOPIC });
    const topology = app.build();
    const registry = new LocalStoreRegistry();
    const server = new QueryServer(topology, registry, log);
    const url = await server.start();
    cleanups.push(() => server.stop());
    const counts = topology.subtopologies.find((s) => s.stores.some((x) => x.name === "counts"))!;
    // the repartition topic the counts read decides the partition count
    await log.admin.createTopic(counts.sourceTopics[0]!, { partitions: 3, ifNotExists: true });
    const key = "kafka";
    const partition = partitionForKey(Buffer.from(key), 3);
    const taskId = counts.taskId(partition);

    registry.restoreProgress(taskId, 10, 100);
    const restoring = await request(url, {
      path: "/v1/stores/counts/get",
      body: JSON.stringify({ key: { json: key } }),
    });
    expect(restoring.status).toBe(503);
    expect(restoring.body.error).toMatchObject({
      code: "STORE_NOT_READY",
      retriable: true,
      taskId,
      partition,
    });

    // a key of another partition: no task of it here, none restoring
    const otherKey = ["x", "y", "z", "flink", "a", "b"].find(
      (k) => partitionForKey(Buffer.from(k), 3) !== partition,
    )!;
    const otherPartition = partitionForKey(Buffer.from(otherKey), 3);
    const elsewhere = await request(url, {
      path: "/v1/stores/counts/get",
      body: JSON.stringify({ key: { json: otherKey } }),
    });
    expect(elsewhere.status).toBe(421);
    expect(elsewhere.body.error).toMatchObject({
      code: "NOT_OWNER",
      retriable: true,
      taskId: counts.taskId(otherPartition),
      partition: otherPartition,
    });

    // a client finds this server only through an advertised endpoint: publish one by hand
    const publisher = new QueryEndpointPublisher(
      log,
      registry,
      {
        applicationId: "query-app",
        memberId: "m1",
        url,
        secured: false,
        stores: { counts: "key-value" },
      },
      () => {},
    );
    publisher.start("test");
    cleanups.push(() => publisher.stop());
    const q = queryClient(app, { log, timeoutMs: 1_500 });
    const started = Date.now();
    const err = await q
      .store("counts")
      .get(key)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueryError);
    expect((err as QueryError).code).toBe("STORE_NOT_READY");
    expect((err as QueryError).message).toContain(taskId);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
  });
});
