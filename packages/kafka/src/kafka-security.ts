import type { ConnectionOptions } from "@platformatic/kafka";
import {
  type ClientCredentials,
  clientCredentials,
  InvalidArgumentError,
  KAFKA_CREDENTIALS,
  type SaslMechanism,
} from "@tributary/log";

/** A SASL login on Kafka. */
export interface KafkaSaslOptions {
  mechanism: SaslMechanism;
  username: string;
  password: string;
}

/** TLS to the brokers. With none of these, the system's CAs are trusted. */
export interface KafkaTlsOptions {
  /** PEM CA(s) the brokers' certificates are checked against, instead of the system's. */
  ca?: string | Buffer;
  /** A client certificate (PEM) and its key, for brokers that require one. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The name the certificate must carry (and the SNI sent) instead of the broker's host. */
  servername?: string;
}

/** The part of the Kafka client's connection options that logs in and encrypts. */
export type KafkaConnectionSecurity = Pick<ConnectionOptions, "sasl" | "tls" | "tlsServerName">;

/**
 * How a KafkaLog secures its connections: `sasl` and `tls` as given, and what is not given
 * (undefined) from the environment and client config file that the embedded broker's
 * clients read too (@tributary/log's clientCredentials: TRIBUTARY_USER, TRIBUTARY_PASSWORD,
 * TRIBUTARY_SASL_MECHANISM, TRIBUTARY_TLS_CA, …, TRIBUTARY_CLIENT_CONFIG). `false` turns
 * one off whatever the environment says. `tlsFromAddress` is set when the bootstrap list
 * was written `tls://host:port`.
 */
export class KafkaSecurity {
  readonly sasl: KafkaSaslOptions | undefined;
  readonly tls: KafkaTlsOptions | undefined;

  constructor(
    sasl: KafkaSaslOptions | false | undefined,
    tls: KafkaTlsOptions | boolean | undefined,
    tlsFromAddress: boolean,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const fromEnv: ClientCredentials =
      sasl === undefined || tls === undefined ? clientCredentials(env, KAFKA_CREDENTIALS) : {};
    this.sasl = sasl === false ? undefined : (sasl ?? fromEnv.sasl);
    if (this.sasl !== undefined) checkSasl(this.sasl);
    if (tls === false) {
      if (tlsFromAddress) {
        throw new InvalidArgumentError(
          "the Kafka brokers are given as tls://host:port but the tls option is false: drop one",
        );
      }
      this.tls = undefined;
    } else if (tls === true || (tls === undefined && tlsFromAddress)) {
      this.tls = envTls(fromEnv) ?? {};
    } else {
      this.tls = tls ?? envTls(fromEnv);
    }
    if (this.tls !== undefined && (this.tls.cert === undefined) !== (this.tls.key === undefined)) {
      throw new InvalidArgumentError(
        "a Kafka client certificate needs both tls.cert and tls.key: give the missing one",
      );
    }
  }

  /** For the Kafka client's Admin, Producer and ConnectionPool options. */
  connectionOptions(): KafkaConnectionSecurity {
    const out: KafkaConnectionSecurity = {};
    if (this.sasl !== undefined) out.sasl = { ...this.sasl };
    if (this.tls !== undefined) {
      const { servername, ...tls } = this.tls;
      out.tls = tls;
      if (servername !== undefined) out.tlsServerName = servername;
    }
    return out;
  }

  /** "user 'alice' with SASL/SCRAM-SHA-256 over TLS", for messages. */
  describe(): string {
    const login =
      this.sasl === undefined
        ? "without a SASL login"
        : `as user '${this.sasl.username}' with SASL/${this.sasl.mechanism}`;
    return `${login}${this.tls === undefined ? "" : " over TLS"}`;
  }
}

const MECHANISMS: readonly string[] = KAFKA_CREDENTIALS.mechanisms;

function checkSasl(sasl: KafkaSaslOptions): void {
  if (!MECHANISMS.includes(sasl.mechanism)) {
    throw new InvalidArgumentError(
      `sasl.mechanism '${String(sasl.mechanism)}' is not one Kafka clients here speak: use ${MECHANISMS.join(", ")}`,
    );
  }
  for (const field of ["username", "password"] as const) {
    if (typeof sasl[field] !== "string" || sasl[field] === "") {
      throw new InvalidArgumentError(
        `sasl.${field} is missing or empty: give the ${field} of the Kafka user to log in as`,
      );
    }
  }
}

function envTls(c: ClientCredentials): KafkaTlsOptions | undefined {
  if (
    c.tlsCa === undefined &&
    c.tlsCert === undefined &&
    c.tlsKey === undefined &&
    c.tlsServername === undefined
  ) {
    return undefined;
  }
  const tls: KafkaTlsOptions = {};
  if (c.tlsCa !== undefined) tls.ca = c.tlsCa;
  if (c.tlsCert !== undefined) tls.cert = c.tlsCert;
  if (c.tlsKey !== undefined) tls.key = c.tlsKey;
  if (c.tlsServername !== undefined) tls.servername = c.tlsServername;
  return tls;
}
