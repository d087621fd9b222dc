import { ProtocolError, type SaslMechanism } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { KafkaLog } from "../src/kafka-log.js";
import { dropNamespace, roundTrip, uniqueNamespace } from "./kafka-helpers.js";
import { securedKafka } from "./secured-kafka.js";

// KafkaLog's sasl option on the test broker's SASL_PLAINTEXT listener: each mechanism
// Kafka clients use logs in, and the admin, producer and group consumer (each on
// connections of their own) all work; a wrong password is refused at open, at once, with
// the user and the mechanism in the message. The plaintext listener would accept any
// client, so the SASL one is what proves the login happens.

const k = securedKafka();

describe("SASL logins on Kafka", () => {
  for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] as SaslMechanism[]) {
    it(`${mechanism}: create, produce and consume through a group`, async () => {
      const namespace = uniqueNamespace("sasl");
      const log = await KafkaLog.open({
        brokers: k.sasl,
        namespace,
        sasl: { mechanism, username: k.user, password: k.password },
      });
      try {
        expect(await roundTrip(log, "orders", 20)).toEqual(
          Array.from({ length: 20 }, (_, i) => `v${i}`).sort(),
        );
      } finally {
        await log.close();
        await dropNamespace(namespace);
      }
    });
  }

  it("a wrong password fails at open, fast, naming the user and the mechanism", async () => {
    const started = Date.now();
    const err = await KafkaLog.open({
      brokers: k.sasl,
      sasl: { mechanism: "SCRAM-SHA-256", username: k.user, password: "not-the-password" },
    }).then(
      (log) => log.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe("AUTHENTICATION_FAILED");
    expect((err as Error).message).toContain(`user '${k.user}' with SASL/SCRAM-SHA-256`);
    expect((err as Error).message).toMatch(/refused the login/);
    // Not a retry loop until the request timeout (30 s): one refusal is final.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("a mechanism Kafka clients do not speak is refused before connecting", async () => {
    await expect(
      KafkaLog.open({
        brokers: k.sasl,
        sasl: { mechanism: "GSSAPI" as SaslMechanism, username: k.user, password: k.password },
      }),
    ).rejects.toThrow(/sasl.mechanism 'GSSAPI'.*use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512/);
  });
});
