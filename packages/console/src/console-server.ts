import * as fs from "node:fs";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import * as path from "node:path";
import { serve } from "@hono/node-server";
import type { LogClient } from "@tributary/log";
import { Hono } from "hono";
import { AppStatusReader } from "./app-status-reader.js";
import { ClusterSampler } from "./cluster-sampler.js";
import { ConsoleError } from "./errors.js";
import { type SearchQuery, TopicBrowser } from "./topic-browser.js";

export interface ConsoleOptions {
  log: LogClient;
  /** Default 127.0.0.1: the console has no login, so it stays on loopback unless told. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** How often topics and groups are sampled. Default 2000 ms. */
  sampleIntervalMs?: number;
  /** Samples kept per partition and group. Default 300. */
  historySize?: number;
}

export interface RunningConsole {
  /** http://host:port/ */
  readonly url: string;
  close(): Promise<void>;
}

const PUBLIC_DIR = path.resolve(import.meta.dirname, "../public");
const require = createRequire(import.meta.url);

/** The files the page loads: its own, and the browser builds of its libraries, served from
 * node_modules (the console works without internet access). */
const ASSETS: Record<string, { file: () => string; type: string }> = {
  "/": { file: () => path.join(PUBLIC_DIR, "index.html"), type: "text/html; charset=utf-8" },
  "/console.js": {
    file: () => path.join(PUBLIC_DIR, "console.js"),
    type: "text/javascript; charset=utf-8",
  },
  "/console.css": {
    file: () => path.join(PUBLIC_DIR, "console.css"),
    type: "text/css; charset=utf-8",
  },
  "/vendor/mermaid.min.js": {
    file: () => require.resolve("mermaid/dist/mermaid.min.js"),
    type: "text/javascript; charset=utf-8",
  },
  "/vendor/uPlot.iife.min.js": {
    file: () => require.resolve("uplot/dist/uPlot.iife.min.js"),
    type: "text/javascript; charset=utf-8",
  },
  "/vendor/uPlot.min.css": {
    file: () => require.resolve("uplot/dist/uPlot.min.css"),
    type: "text/css; charset=utf-8",
  },
};

/**
 * `tributary console`: an HTTP server (Hono on Node) with one page and a JSON API.
 *   GET /api/overview                       topics, groups (with lag history) and apps
 *   GET /api/topics/:topic/tail?partition=P&limit=N      the last N records of P
 *   GET /api/topics/:topic/search?key=K&from=T&to=T&partition=P&limit=N
 * Times are ms since the epoch or ISO 8601. A bad request answers 400 with
 * `{ error, code }` naming the parameter.
 */
export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const assets = loadAssets();
  const sampler = new ClusterSampler({
    log: options.log,
    ...(options.sampleIntervalMs === undefined ? {} : { intervalMs: options.sampleIntervalMs }),
    ...(options.historySize === undefined ? {} : { historySize: options.historySize }),
  });
  const reader = new AppStatusReader(options.log);
  const browser = new TopicBrowser(options.log);
  await sampler.start();
  reader.start();

  const app = new Hono();
  for (const [route, asset] of Object.entries(assets)) {
    app.get(route, (c) => c.body(asset.bytes, 200, { "content-type": asset.type }));
  }
  app.get("/api/overview", (c) => c.json({ cluster: sampler.view(), apps: reader.view() }));
  app.get("/api/topics/:topic/tail", async (c) => {
    const partition = intParam("partition", c.req.query("partition") ?? "0");
    const limit = intParam("limit", c.req.query("limit") ?? "50");
    return c.json(await browser.tail(c.req.param("topic"), partition, limit));
  });
  app.get("/api/topics/:topic/search", async (c) => {
    const q: SearchQuery = {};
    const key = c.req.query("key");
    if (key !== undefined && key !== "") q.key = key;
    const from = c.req.query("from");
    if (from !== undefined && from !== "") q.from = timeParam("from", from);
    const to = c.req.query("to");
    if (to !== undefined && to !== "") q.to = timeParam("to", to);
    const partition = c.req.query("partition");
    if (partition !== undefined && partition !== "") q.partition = intParam("partition", partition);
    const limit = c.req.query("limit");
    if (limit !== undefined && limit !== "") q.limit = intParam("limit", limit);
    return c.json(await browser.search(c.req.param("topic"), q));
  });
  app.onError((err, c) => {
    const code = (err as { code?: string }).code ?? "INTERNAL";
    const status = err instanceof ConsoleError && code === "BAD_REQUEST" ? 400 : 500;
    return c.json({ error: err.message, code }, status);
  });

  const host = options.host ?? "127.0.0.1";
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port: options.port }, () => resolve(s));
    s.once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await reader.stop();
      await sampler.stop();
    },
  };
}

function loadAssets(): Record<string, { bytes: Uint8Array<ArrayBuffer>; type: string }> {
  const out: Record<string, { bytes: Uint8Array<ArrayBuffer>; type: string }> = {};
  for (const [route, asset] of Object.entries(ASSETS)) {
    let file: string;
    try {
      file = asset.file();
      out[route] = { bytes: Uint8Array.from(fs.readFileSync(file)), type: asset.type };
    } catch (e) {
      throw new ConsoleError(
        "ASSET_MISSING",
        `the console's file for ${route} is missing (${(e as Error).message}): reinstall @tributary/console with its dependencies (npm install)`,
        { cause: e },
      );
    }
  }
  return out;
}

function intParam(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new ConsoleError("BAD_REQUEST", `${name}=${raw} is not a whole number >= 0`);
  }
  return n;
}

function timeParam(name: string, raw: string): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(n)) {
    throw new ConsoleError(
      "BAD_REQUEST",
      `${name}=${raw} is not a time: give ms since the epoch or ISO 8601 (2026-12-07T10:00:00Z)`,
    );
  }
  return n;
}
