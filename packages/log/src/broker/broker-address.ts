import * as path from "node:path";
import { InvalidArgumentError } from "../errors.js";

/** Where a broker listens, or where a client finds it. */
export type BrokerAddress =
  | {
      transport: "tcp";
      host: string;
      port: number /** TLS on this address (tls://). */;
      tls?: boolean;
    }
  | { transport: "unix"; path: string };

/** Loopback only unless asked: a broker has no encryption, and a token is optional. */
export const DEFAULT_BROKER_HOST = "127.0.0.1";
export const DEFAULT_BROKER_PORT = 7070;

/**
 * Accepts `tls://host:port` (TLS),
 * `tcp://host:port`, `host:port`, `[::1]:port`, `:port` or a bare port (loopback),
 * `unix:/path/sock`, `unix:///path/sock`, or a path (anything with a `/`, or ending in
 * `.sock`). Throws InvalidArgumentError saying which forms are accepted.
 */
export function parseBrokerAddress(text: string | BrokerAddress): BrokerAddress {
  if (typeof text !== "string") return text;
  const s = text.trim();
  const bad = (why: string) =>
    new InvalidArgumentError(
      `broker address '${text}' ${why}: use tcp://127.0.0.1:${DEFAULT_BROKER_PORT}, host:port, unix:/path/to/sock or a socket path`,
    );
  if (s.length === 0) throw bad("is empty");
  if (s.startsWith("unix:")) {
    const p = s.slice("unix:".length).replace(/^\/\/(?=\/)/, "");
    if (p.length === 0) throw bad("has no socket path");
    return { transport: "unix", path: path.resolve(p) };
  }
  let rest = s;
  const tls = s.startsWith("tls://");
  if (s.startsWith("tcp://") || tls) rest = s.slice("tcp://".length);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) throw bad("has an unknown scheme");
  else if (s.includes("/") || s.endsWith(".sock"))
    return { transport: "unix", path: path.resolve(s) };
  const secure = tls ? { tls: true } : {};
  if (/^\d+$/.test(rest))
    return { transport: "tcp", host: DEFAULT_BROKER_HOST, port: parsePort(rest, bad), ...secure };
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(rest);
  if (m === null) throw bad("has no port");
  const host = m[1] ?? m[2] ?? "";
  return {
    transport: "tcp",
    host: host === "" ? DEFAULT_BROKER_HOST : host,
    port: parsePort(m[3]!, bad),
    ...secure,
  };
}

function parsePort(raw: string, bad: (why: string) => Error): number {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw bad(`has port ${raw}, not 0..65535`);
  return port;
}

export function formatBrokerAddress(address: BrokerAddress): string {
  if (address.transport === "unix") return `unix:${address.path}`;
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `${address.tls === true ? "tls" : "tcp"}://${host}:${address.port}`;
}
