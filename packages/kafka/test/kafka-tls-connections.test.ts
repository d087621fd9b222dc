import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { KafkaLog } from "../src/kafka-log.js";
import { dropNamespace, roundTrip, uniqueNamespace } from "./kafka-helpers.js";
import { securedKafka } from "./secured-kafka.js";

// KafkaLog's tls option on the test broker's TLS listeners, whose certificates come from a
// CA made at the broker's start: SASL over TLS with that CA, a listener that requires a
// client certificate, and the checks TLS is there for (an unknown CA, a certificate for
// another name, no client certificate) each failing at open with the reason in the message.

const k = securedKafka();
const file = (name: string) => fs.readFileSync(path.join(k.tlsDir, name));
const ca = file("ca.pem");
const sasl = { mechanism: "SCRAM-SHA-256" as const, username: k.user, password: k.password };

async function expectRoundTrip(options: Parameters<typeof KafkaLog.open>[0]): Promise<void> {
  const namespace = uniqueNamespace("tls");
  const log = await KafkaLog.open({ ...options, namespace });
  try {
    expect(await roundTrip(log, "payments", 10)).toHaveLength(10);
  } finally {
    await log.close();
    await dropNamespace(namespace);
  }
}

async function openError(options: Parameters<typeof KafkaLog.open>[0]): Promise<Error> {
  const started = Date.now();
  const err = await KafkaLog.open(options).then(
    async (log) => {
      await log.close();
      return new Error("opened");
    },
    (e: Error) => e,
  );
  // A refused handshake is final: no waiting out the 30 s request timeout.
  expect(Date.now() - started).toBeLessThan(20_000);
  return err;
}

describe("TLS connections to Kafka", () => {
  it("SASL/SCRAM over TLS, trusting the broker's CA", async () => {
    await expectRoundTrip({ brokers: k.saslSsl, sasl, tls: { ca } });
  });

  it("tls:// brokers with the CA and a server name the certificate carries", async () => {
    await expectRoundTrip({
      brokers: `tls://${k.saslSsl}`,
      sasl,
      tls: { ca, servername: "localhost" },
    });
  });

  it("a client certificate on a listener that requires one", async () => {
    await expectRoundTrip({
      brokers: k.mtls,
      sasl: false,
      tls: { ca, cert: file("client.crt"), key: file("client.key") },
    });
  });

  it("refused: an unknown CA, another server name, no client certificate", async () => {
    const systemCas = await openError({ brokers: k.saslSsl, sasl, tls: true });
    expect(systemCas.message).toMatch(
      /TLS handshake failed \(unable to verify the first certificate\); check TRIBUTARY_TLS_CA/,
    );
    const otherName = await openError({
      brokers: k.saslSsl,
      sasl,
      tls: { ca, servername: "kafka.example.com" },
    });
    expect(otherName.message).toMatch(
      /TLS handshake failed \(Hostname\/IP does not match certificate's altnames: Host: kafka\.example\.com/,
    );
    const noCert = await openError({ brokers: k.mtls, sasl: false, tls: { ca } });
    expect(noCert.message).toMatch(
      /closed the connection.*client certificate \(TRIBUTARY_TLS_CERT/,
    );
  });
});
