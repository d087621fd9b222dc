import * as fs from "node:fs";
import {
  InvalidArgumentError,
  type RunningBroker,
  formatBrokerAddress,
  startBroker,
} from "@tributary/log";
import type { Command } from "commander";
import {
  type BrokerSecurityFlags,
  addBrokerSecurityOptions,
  brokerSecurityOptions,
} from "../broker-security-flags.js";

interface BrokerFlags extends BrokerSecurityFlags {
  data: string;
  listen?: string;
  socket?: string;
  tokenFile?: string;
  maxFrameBytes?: string;
  maxConnections?: string;
  maxConnectionsPerIp?: string;
  connectionsMaxIdleMs?: string;
  handshakeTimeoutMs?: string;
  maxBufferedBytesPerConnection?: string;
}

/**
 * `tributary broker`: serves one data directory to other processes. Prints one line on
 * stdout when it accepts connections (`broker listening on <address> ...`), so scripts
 * and tests can wait for it; logs go to stderr as JSON lines. SIGTERM or SIGINT stops it
 * cleanly: no new connections, in-flight requests answered, log flushed and unlocked,
 * broker.json removed, exit 0.
 */
export function registerBrokerCommand(program: Command): void {
  const cmd = program
    .command("broker")
    .description("serve a data directory to other processes over TCP (loopback) or a Unix socket")
    .option("--data <dir>", "data directory", "./.tributary")
    .option("--listen <host:port>", "TCP address to listen on (default 127.0.0.1:7070)")
    .option("--socket <path>", "Unix socket to listen on instead of TCP")
    .option("--token-file <file>", "require clients to present the token in this file")
    .option("--max-frame-bytes <n>", "largest request or response frame (default 64 MiB)")
    .option(
      "--max-connections <n>",
      "max.connections: refuse connections beyond this (default: half the free file descriptors, at most 10000)",
    )
    .option(
      "--max-connections-per-ip <n>",
      "max.connections.per.ip: the same limit per client address (default: --max-connections)",
    )
    .option(
      "--connections-max-idle-ms <ms>",
      "connections.max.idle.ms: close connections idle this long; 0 never (default 600000)",
    )
    .option(
      "--handshake-timeout-ms <ms>",
      "close connections that have not shaken hands this long after connecting (default 10000)",
    )
    .option(
      "--max-buffered-bytes-per-connection <n>",
      "stop reading a client while this many bytes of its answers wait to be sent (default 16 MiB)",
    );
  addBrokerSecurityOptions(cmd).action(async (flags: BrokerFlags) => {
    const running = await startBroker({
      dataDir: flags.data,
      address: brokerAddress(flags),
      token: flags.tokenFile === undefined ? undefined : readToken(flags.tokenFile),
      maxFrameBytes: flags.maxFrameBytes === undefined ? undefined : parseSize(flags.maxFrameBytes),
      maxConnections: parseCount("--max-connections", flags.maxConnections, 1),
      maxConnectionsPerIp: parseCount("--max-connections-per-ip", flags.maxConnectionsPerIp, 1),
      idleTimeoutMs: parseCount("--connections-max-idle-ms", flags.connectionsMaxIdleMs, 0),
      handshakeTimeoutMs: parseCount("--handshake-timeout-ms", flags.handshakeTimeoutMs, 1),
      maxBufferedBytesPerConnection: parseCount(
        "--max-buffered-bytes-per-connection",
        flags.maxBufferedBytesPerConnection,
        1024,
      ),
      ...brokerSecurityOptions(flags),
    });
    process.stdout.write(
      `broker listening on ${formatBrokerAddress(running.address)} (data ${flags.data}, pid ${process.pid}${running.metricsAddress === undefined ? "" : `, metrics http://${running.metricsAddress}/metrics`})\n`,
    );
    await untilSignal(running);
  });
}

function brokerAddress(flags: BrokerFlags): string | undefined {
  if (flags.listen !== undefined && flags.socket !== undefined) {
    throw new InvalidArgumentError("--listen and --socket exclude each other: pick one");
  }
  if (flags.socket !== undefined) return `unix:${flags.socket}`;
  if (flags.listen !== undefined) {
    if (flags.listen.startsWith("unix:")) {
      throw new InvalidArgumentError("--listen takes host:port; use --socket for a Unix socket");
    }
    const hostPort = flags.listen.replace(/^(tcp|tls):\/\//, "");
    return `${flags.tlsCert === undefined ? "tcp" : "tls"}://${hostPort}`;
  }
  return undefined;
}

function readToken(file: string): string {
  let token: string;
  try {
    token = fs.readFileSync(file, "utf8").trim();
  } catch (err) {
    throw new InvalidArgumentError(`--token-file ${file}: ${(err as Error).message}`);
  }
  if (token.length === 0)
    throw new InvalidArgumentError(`--token-file ${file} is empty: put a secret in it`);
  return token;
}

function parseSize(raw: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1024 || n > 2 ** 32 - 1) {
    throw new InvalidArgumentError(
      `--max-frame-bytes ${raw}: expected an integer from 1024 to 4294967295`,
    );
  }
  return n;
}

function parseCount(flag: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new InvalidArgumentError(`${flag} ${raw}: expected an integer >= ${min}`);
  }
  return n;
}

function untilSignal(running: RunningBroker): Promise<never> {
  return new Promise(() => {
    const stop = (signal: NodeJS.Signals) => {
      process.once(signal, () => process.exit(1)); // a second signal: give up waiting
      running.stop().then(
        () => process.exit(0),
        (err) => {
          process.stderr.write(`tributary: broker stop failed: ${(err as Error).message}\n`);
          process.exit(1);
        },
      );
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}
