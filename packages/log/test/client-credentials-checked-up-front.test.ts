import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../src/errors.js";
import {
  BROKER_CREDENTIALS,
  clientCredentials,
  KAFKA_CREDENTIALS,
} from "../src/security/client-credentials.js";

// Where every client finds its login and TLS files (environment, then client config file),
// and that a mistake is caught before any connection with the variable or field to fix:
// a Tributary broker speaks SCRAM-SHA-256 and server-side TLS only, Kafka more.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-creds-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};

describe("client credentials", () => {
  it("the config file gives every field; the environment wins field by field", () => {
    const config = write(
      "client.json",
      JSON.stringify({
        user: "billing",
        passwordFile: write("pw.txt", "from-file\nignored\n"),
        saslMechanism: "scram-sha-512",
        tlsCa: write("ca.pem", "CA"),
        tlsCert: write("c.crt", "CERT"),
        tlsKey: write("c.key", "KEY"),
        tlsServername: "kafka.internal",
      }),
    );
    const env = { TRIBUTARY_CLIENT_CONFIG: config };
    expect(clientCredentials(env, KAFKA_CREDENTIALS)).toEqual({
      sasl: { mechanism: "SCRAM-SHA-512", username: "billing", password: "from-file" },
      tlsCa: Buffer.from("CA"),
      tlsCert: Buffer.from("CERT"),
      tlsKey: Buffer.from("KEY"),
      tlsServername: "kafka.internal",
    });
    const over = clientCredentials(
      { ...env, TRIBUTARY_PASSWORD: "from-env", TRIBUTARY_SASL_MECHANISM: "PLAIN" },
      KAFKA_CREDENTIALS,
    );
    expect(over.sasl).toEqual({ mechanism: "PLAIN", username: "billing", password: "from-env" });
  });

  it("SCRAM-SHA-256 unless told otherwise, for the broker as for Kafka", () => {
    const env = { TRIBUTARY_USER: "a", TRIBUTARY_PASSWORD: "p" };
    expect(clientCredentials(env).sasl?.mechanism).toBe("SCRAM-SHA-256");
    expect(clientCredentials(env, KAFKA_CREDENTIALS).sasl?.mechanism).toBe("SCRAM-SHA-256");
  });

  it("mistakes name the variable or field and the fix", () => {
    const bad = (env: NodeJS.ProcessEnv, target = KAFKA_CREDENTIALS) => {
      try {
        clientCredentials(env, target);
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidArgumentError);
        return (err as Error).message;
      }
      throw new Error("accepted");
    };
    const user = { TRIBUTARY_USER: "a", TRIBUTARY_PASSWORD: "p" };
    expect(bad({ ...user, TRIBUTARY_SASL_MECHANISM: "GSSAPI" })).toBe(
      "TRIBUTARY_SASL_MECHANISM is 'GSSAPI', a SASL mechanism Kafka does not take here: use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
    );
    expect(bad({ ...user, TRIBUTARY_SASL_MECHANISM: "PLAIN" }, BROKER_CREDENTIALS)).toMatch(
      /a Tributary broker does not take here: use SCRAM-SHA-256$/,
    );
    const config = write("m.json", JSON.stringify({ saslMechanism: "PLAIN" }));
    expect(bad({ TRIBUTARY_CLIENT_CONFIG: config })).toBe(
      `'saslMechanism' in client config ${config} is set but no user is: set TRIBUTARY_USER (or 'user' in the client config), or unset it`,
    );
    expect(bad({ TRIBUTARY_USER: "a" })).toMatch(
      /^user 'a' has no password: set TRIBUTARY_PASSWORD or TRIBUTARY_PASSWORD_FILE/,
    );
    expect(bad({ TRIBUTARY_TLS_CERT: write("only.crt", "C") })).toMatch(/set TRIBUTARY_TLS_KEY/);
    expect(bad({ TRIBUTARY_TLS_SERVERNAME: "x" }, BROKER_CREDENTIALS)).toBe(
      "TRIBUTARY_TLS_SERVERNAME: a Tributary broker takes no client certificate or TLS server name (it is for --kafka); unset it",
    );
    expect(bad({ TRIBUTARY_CLIENT_CONFIG: write("u.json", '{"sasl.mechanism":"PLAIN"}') })).toMatch(
      /field 'sasl.mechanism' is unknown or not a string \(fields: user, password, passwordFile, saslMechanism, tlsCa, tlsCert, tlsKey, tlsServername\)/,
    );
  });
});
