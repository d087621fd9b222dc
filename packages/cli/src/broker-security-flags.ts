import * as fs from "node:fs";
import { InvalidArgumentError, type QuotaConfig, type StartBrokerOptions } from "@tributary/log";
import type { Command } from "commander";

/** The `tributary broker` flags for access control, TLS, quotas and metrics. */
export interface BrokerSecurityFlags {
  acls?: boolean;
  superUsers?: string;
  tlsCert?: string;
  tlsKey?: string;
  quotas?: string;
  metrics?: string;
}

export function addBrokerSecurityOptions(cmd: Command): Command {
  return cmd
    .option(
      "--acls",
      "require logins (SCRAM-SHA-256) and enforce the ACLs of the data dir (tributary users|acls)",
    )
    .option("--super-users <list>", "principals never denied, e.g. User:admin (with --acls)")
    .option("--tls-cert <file>", "serve TLS with this PEM certificate chain (with --tls-key)")
    .option("--tls-key <file>", "the PEM private key of --tls-cert")
    .option(
      "--quotas <file>",
      'per-principal byte rates, JSON: {"User:x": {"produceBytesPerSec": N, "fetchBytesPerSec": N}, "default": {...}}',
    )
    .option("--metrics <host:port>", "serve Prometheus /metrics, /healthz and /readyz here");
}

export function brokerSecurityOptions(
  flags: BrokerSecurityFlags,
): Pick<StartBrokerOptions, "acls" | "quotas" | "metricsListen" | "tls"> {
  if (flags.superUsers !== undefined && !flags.acls) {
    throw new InvalidArgumentError("--super-users needs --acls: without it nothing is denied");
  }
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new InvalidArgumentError("--tls-cert and --tls-key go together: give both");
  }
  return {
    acls: flags.acls
      ? {
          superUsers: (flags.superUsers ?? "")
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
        }
      : undefined,
    quotas: flags.quotas === undefined ? undefined : readQuotas(flags.quotas),
    metricsListen: flags.metrics,
    tls:
      flags.tlsCert === undefined
        ? undefined
        : { cert: read("--tls-cert", flags.tlsCert), key: read("--tls-key", flags.tlsKey!) },
  };
}

function read(flag: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new InvalidArgumentError(`${flag} ${file}: ${(err as Error).message}`);
  }
}

function readQuotas(file: string): QuotaConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(read("--quotas", file).toString("utf8"));
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    throw new InvalidArgumentError(`--quotas ${file} is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError(`--quotas ${file}: expected an object of principals`);
  }
  for (const [who, q] of Object.entries(parsed)) {
    if (who !== "default" && !who.startsWith("User:")) {
      throw new InvalidArgumentError(`--quotas ${file}: '${who}' is not User:<name> or default`);
    }
    for (const k of Object.keys(q ?? {})) {
      if (k !== "produceBytesPerSec" && k !== "fetchBytesPerSec") {
        throw new InvalidArgumentError(
          `--quotas ${file}: ${who} has '${k}' (expected produceBytesPerSec, fetchBytesPerSec)`,
        );
      }
    }
  }
  return parsed as QuotaConfig;
}
