import fs from "node:fs";
import { InvalidArgumentError } from "../errors.js";

/**
 * How a client (the CLI, a worker, a connector) finds its credentials for a broker with
 * --acls or a Kafka cluster with SASL, and the CA of a TLS listener, without a flag on
 * every command (workers are child processes and inherit the environment):
 *
 *   TRIBUTARY_USER, TRIBUTARY_PASSWORD     the user to log in as
 *   TRIBUTARY_PASSWORD_FILE                the password in a file instead (first line)
 *   TRIBUTARY_SASL_MECHANISM               how to log in: SCRAM-SHA-256 (the default; the
 *                                          only one a Tributary broker speaks), and on
 *                                          Kafka also SCRAM-SHA-512 or PLAIN
 *   TRIBUTARY_TLS_CA                       a PEM file with the CA of the broker's certificate
 *   TRIBUTARY_TLS_CERT, TRIBUTARY_TLS_KEY  a client certificate and its key (Kafka only)
 *   TRIBUTARY_TLS_SERVERNAME               the name to check the certificate against
 *                                          (and send as SNI) instead of the host (Kafka only)
 *   TRIBUTARY_CLIENT_CONFIG                a JSON file with the same fields: { user,
 *                                          password | passwordFile, saslMechanism, tlsCa,
 *                                          tlsCert, tlsKey, tlsServername }
 *
 * The environment wins over the config file, field by field. Every check happens here,
 * before any connection, and an error names the variable or config field to fix.
 */
export interface ClientCredentials {
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
  tlsCa?: Buffer;
  tlsCert?: Buffer;
  tlsKey?: Buffer;
  tlsServername?: string;
}

export type SaslMechanism = "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";

/** What the credentials are for: which mechanisms and TLS options the server side takes. */
export interface CredentialsTarget {
  /** For messages: "a Tributary broker", "Kafka". */
  name: string;
  mechanisms: readonly SaslMechanism[];
  /** Whether client certificates and a TLS server name can be used. */
  tlsClientOptions: boolean;
}

export const BROKER_CREDENTIALS: CredentialsTarget = {
  name: "a Tributary broker",
  mechanisms: ["SCRAM-SHA-256"],
  tlsClientOptions: false,
};

export const KAFKA_CREDENTIALS: CredentialsTarget = {
  name: "Kafka",
  mechanisms: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"],
  tlsClientOptions: true,
};

const FIELDS = {
  user: "TRIBUTARY_USER",
  password: "TRIBUTARY_PASSWORD",
  passwordFile: "TRIBUTARY_PASSWORD_FILE",
  saslMechanism: "TRIBUTARY_SASL_MECHANISM",
  tlsCa: "TRIBUTARY_TLS_CA",
  tlsCert: "TRIBUTARY_TLS_CERT",
  tlsKey: "TRIBUTARY_TLS_KEY",
  tlsServername: "TRIBUTARY_TLS_SERVERNAME",
} as const;

type Field = keyof typeof FIELDS;

export function clientCredentials(
  env: NodeJS.ProcessEnv = process.env,
  target: CredentialsTarget = BROKER_CREDENTIALS,
): ClientCredentials {
  const file = env.TRIBUTARY_CLIENT_CONFIG;
  const config = file === undefined ? {} : readConfig(file);
  // Each value with where it came from, for the messages.
  const get = (field: Field): { value: string; from: string } | undefined => {
    const fromEnv = env[FIELDS[field]];
    if (fromEnv !== undefined) return { value: fromEnv, from: FIELDS[field] };
    const fromFile = config[field];
    return fromFile === undefined
      ? undefined
      : { value: fromFile, from: `'${field}' in client config ${file}` };
  };
  const user = get("user")?.value;
  const passwordFile = get("passwordFile")?.value;
  let password = get("password")?.value;
  if (password === undefined && passwordFile !== undefined) {
    password = readText(passwordFile, "password file").split("\n")[0]!.trim();
  }
  const mechanism = get("saslMechanism");
  const out: ClientCredentials = {};
  if (user !== undefined) {
    if (password === undefined || password === "") {
      throw new InvalidArgumentError(
        `user '${user}' has no password: set TRIBUTARY_PASSWORD or TRIBUTARY_PASSWORD_FILE (or 'password' / 'passwordFile' in the client config)`,
      );
    }
    out.sasl = {
      mechanism: saslMechanism(mechanism, target),
      username: user,
      password,
    };
  } else if (mechanism !== undefined) {
    throw new InvalidArgumentError(
      `${mechanism.from} is set but no user is: set TRIBUTARY_USER (or 'user' in the client config), or unset it`,
    );
  }
  const ca = get("tlsCa")?.value;
  if (ca !== undefined) out.tlsCa = Buffer.from(readText(ca, "TLS CA file"));
  const cert = get("tlsCert");
  const key = get("tlsKey");
  const servername = get("tlsServername");
  for (const given of [cert, key, servername]) {
    if (given !== undefined && !target.tlsClientOptions) {
      throw new InvalidArgumentError(
        `${given.from}: ${target.name} takes no client certificate or TLS server name (it is for --kafka); unset it`,
      );
    }
  }
  if ((cert === undefined) !== (key === undefined)) {
    const missing = cert === undefined ? FIELDS.tlsCert : FIELDS.tlsKey;
    throw new InvalidArgumentError(
      `a client certificate needs both its certificate and its key: set ${missing} (or '${cert === undefined ? "tlsCert" : "tlsKey"}' in the client config)`,
    );
  }
  if (cert !== undefined && key !== undefined) {
    out.tlsCert = Buffer.from(readText(cert.value, "TLS client certificate file"));
    out.tlsKey = Buffer.from(readText(key.value, "TLS client key file"));
  }
  if (servername !== undefined) out.tlsServername = servername.value;
  return out;
}

function saslMechanism(
  given: { value: string; from: string } | undefined,
  target: CredentialsTarget,
): SaslMechanism {
  if (given === undefined) return "SCRAM-SHA-256";
  const upper = given.value.trim().toUpperCase();
  const found = target.mechanisms.find((m) => m === upper);
  if (found === undefined) {
    throw new InvalidArgumentError(
      `${given.from} is '${given.value}', a SASL mechanism ${target.name} does not take here: use ${target.mechanisms.join(", ")}`,
    );
  }
  return found;
}

type ConfigFile = Partial<Record<Field, string>>;

function readConfig(file: string): ConfigFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readText(file, "client config"));
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    throw new InvalidArgumentError(`client config ${file} is not JSON: ${(err as Error).message}`);
  }
  const c = parsed as Record<string, unknown>;
  const known = Object.keys(FIELDS);
  for (const k of Object.keys(c ?? {})) {
    if (!known.includes(k) || typeof c[k] !== "string") {
      throw new InvalidArgumentError(
        `client config ${file}: field '${k}' is unknown or not a string (fields: ${known.join(", ")})`,
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
