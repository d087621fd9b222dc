import fs from "node:fs";
import { InvalidArgumentError } from "../errors.js";

/**
 * How a client (the CLI, a worker, a connector) finds its credentials for a broker with
 * --acls, and the CA of a tls:// broker, without a flag on every command (workers are
 * child processes and inherit the environment):
 *
 *   TRIBUTARY_USER, TRIBUTARY_PASSWORD     the user to log in as (SCRAM-SHA-256)
 *   TRIBUTARY_PASSWORD_FILE                the password in a file instead (first line)
 *   TRIBUTARY_TLS_CA                       a PEM file with the CA of the broker's certificate
 *   TRIBUTARY_CLIENT_CONFIG                a JSON file { user, password | passwordFile, tlsCa }
 *
 * The environment wins over the config file, field by field.
 */
export interface ClientCredentials {
  sasl?: { username: string; password: string };
  tlsCa?: Buffer;
}

export function clientCredentials(env: NodeJS.ProcessEnv = process.env): ClientCredentials {
  const file = env.TRIBUTARY_CLIENT_CONFIG;
  const config = file === undefined ? {} : readConfig(file);
  const user = env.TRIBUTARY_USER ?? config.user;
  const passwordFile = env.TRIBUTARY_PASSWORD_FILE ?? config.passwordFile;
  let password = env.TRIBUTARY_PASSWORD ?? config.password;
  if (password === undefined && passwordFile !== undefined) {
    password = readText(passwordFile, "password file").split("\n")[0]!.trim();
  }
  const ca = env.TRIBUTARY_TLS_CA ?? config.tlsCa;
  const out: ClientCredentials = {};
  if (user !== undefined) {
    if (password === undefined || password === "") {
      throw new InvalidArgumentError(
        `user '${user}' has no password: set TRIBUTARY_PASSWORD or TRIBUTARY_PASSWORD_FILE`,
      );
    }
    out.sasl = { username: user, password };
  }
  if (ca !== undefined) out.tlsCa = Buffer.from(readText(ca, "TLS CA file"));
  return out;
}

interface ConfigFile {
  user?: string;
  password?: string;
  passwordFile?: string;
  tlsCa?: string;
}

function readConfig(file: string): ConfigFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readText(file, "client config"));
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    throw new InvalidArgumentError(`client config ${file} is not JSON: ${(err as Error).message}`);
  }
  const c = parsed as Record<string, unknown>;
  for (const k of Object.keys(c ?? {})) {
    if (!["user", "password", "passwordFile", "tlsCa"].includes(k) || typeof c[k] !== "string") {
      throw new InvalidArgumentError(
        `client config ${file}: field '${k}' is unknown or not a string (fields: user, password, passwordFile, tlsCa)`,
      );
    }
  }
  return c as ConfigFile;
}

function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new InvalidArgumentError(`${what} ${file}: ${(err as Error).message}`);
  }
}
