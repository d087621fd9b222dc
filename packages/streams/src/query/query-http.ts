import * as http from "node:http";

/**
 * The query clients' HTTP: node:http over a keep-alive agent, so the many small point
 * requests of a client reuse a pool of connections per worker instead of paying a
 * connection (and fetch's per-request machinery) each. Idle pooled sockets do not keep a
 * process alive (the agent unrefs them).
 */
export class QueryHttp {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  /** POSTs `body`; resolves with the status and the whole response text. Rejects on a
   * connection failure or after `timeoutMs`. */
  post(
    url: string,
    headers: Record<string, string>,
    body: string,
    timeoutMs: number,
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        url,
        {
          method: "POST",
          agent: this.agent,
          headers: { ...headers, "content-length": Buffer.byteLength(body) },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
          );
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on("error", reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
