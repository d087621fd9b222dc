import type { SaslMechanism } from "@tributary/log";
import type { KafkaSaslOptions } from "../src/kafka-security.js";

// Apart from kafka-helpers.ts, which imports vitest: the worker processes' connect fixture
// reads these too.

/**
 * The test broker's secured listeners (scripts/kafka.sh env prints them): SASL_PLAINTEXT
 * and SASL_SSL with PLAIN and SCRAM for one user, and TLS that requires a client
 * certificate, all signed by a throwaway CA in `tlsDir`. Throws when unset, as kafkaBrokers.
 */
export interface SecuredKafka {
  sasl: string;
  saslSsl: string;
  mtls: string;
  user: string;
  password: string;
  /** ca.pem, client.crt, client.key */
  tlsDir: string;
}

export function securedKafka(): SecuredKafka {
  const env = process.env;
  const need = (name: string): string => {
    const v = env[name];
    if (v === undefined || v === "") {
      throw new Error(
        `${name} is not set: start a broker with scripts/kafka.sh start, then eval "$(scripts/kafka.sh env)" before npx vitest run --project kafka`,
      );
    }
    return v;
  };
  return {
    sasl: need("TRIBUTARY_KAFKA_SASL_BROKERS"),
    saslSsl: need("TRIBUTARY_KAFKA_SASL_SSL_BROKERS"),
    mtls: need("TRIBUTARY_KAFKA_MTLS_BROKERS"),
    user: need("TRIBUTARY_KAFKA_SASL_USER"),
    password: need("TRIBUTARY_KAFKA_SASL_PASSWORD"),
    tlsDir: need("TRIBUTARY_KAFKA_TLS_DIR"),
  };
}

/** The test broker's user, logging in with `mechanism`. */
export function kafkaSasl(mechanism: SaslMechanism): KafkaSaslOptions {
  const k = securedKafka();
  return { mechanism, username: k.user, password: k.password };
}
