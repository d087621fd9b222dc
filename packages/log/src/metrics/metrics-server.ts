import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { InvalidArgumentError } from "../errors.js";

/**
 * The HTTP side of a process's metrics and health, for Prometheus and for supervisors:
 *   GET /metrics  the registry in Prometheus' text format
 *   GET /healthz  200 while the process runs its loop (liveness)
 *   GET /readyz   200 once `ready()` says so (a worker: after its stores are restored),
 *                 else 503 with the reason
 * It binds to loopback unless given another host, like the broker.
 */
export interface MetricsServerOptions {
  /** host:port; port 0 picks a free one. Default host 127.0.0.1. */
  listen: string;
  registry: Registry;
  /** true when ready, or a string saying what it still waits for. */
  ready?: () => true | string;
}

export interface RunningMetricsServer {
  /** host:port actually bound. */
  address: string;
  close(): Promise<void>;
}

export async function startMetricsServer(o: MetricsServerOptions): Promise<RunningMetricsServer> {
  const { host, port } = parseListen(o.listen);
  const server = http.createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (url === "/metrics") {
      o.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": o.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(`metrics failed: ${err.message}\n`),
      );
    } else if (url === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (url === "/readyz") {
      const r = o.ready?.() ?? true;
      if (r === true) res.writeHead(200, { "content-type": "text/plain" }).end("ready\n");
      else res.writeHead(503, { "content-type": "text/plain" }).end(`not ready: ${r}\n`);
    } else {
      res
        .writeHead(404, { "content-type": "text/plain" })
        .end("try /metrics, /healthz or /readyz\n");
    }
  });
  // A scraper that never reads cannot hold the process's descriptors for long.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.maxConnections = 64;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return {
    address: `${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || port > 65535) {
    throw new InvalidArgumentError(
      `metrics address '${text}': expected host:port, e.g. 127.0.0.1:9464 (port 0 picks a free one)`,
    );
  }
  return { host: m[1] ?? (m[2] || "127.0.0.1"), port };
}
