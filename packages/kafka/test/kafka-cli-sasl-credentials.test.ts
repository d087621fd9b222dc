import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  appDir,
  type CliOptions,
  cleanup,
  cli,
  expectOneLineError,
  jsonLines,
  runCli,
  tempDir,
} from "../../cli/test/helpers.js";
import { lines, reference, WORDS, wordCountApp } from "../../cli/test/reprocess-scenario.js";
import { dropTopicsAfterAll, uniqueNamespace } from "./kafka-helpers.js";
import { securedKafka } from "./secured-kafka.js";

// The real `tributary` command with --kafka on the test broker's SASL listener, its
// credentials from where every Tributary client takes them: the environment
// (TRIBUTARY_USER, TRIBUTARY_PASSWORD, TRIBUTARY_SASL_MECHANISM) or a client config file
// (TRIBUTARY_CLIENT_CONFIG), which `tributary run` hands on to its worker processes.
// Mistakes are one-line errors naming what to fix (exit 2, as for a bad flag), and a wrong
// password does not hang.

const k = securedKafka();
afterEach(cleanup);

const suffix = uniqueNamespace("cs");
dropTopicsAfterAll(suffix);

const onSasl = ["--kafka", k.sasl];
const plainEnv = {
  TRIBUTARY_USER: k.user,
  TRIBUTARY_PASSWORD: k.password,
  TRIBUTARY_SASL_MECHANISM: "PLAIN",
};

function consumeJson(topic: string, options: CliOptions): { key: string; value: unknown }[] {
  return jsonLines(
    cli(["consume", topic, "--format", "json", "--value-serde", "json", ...onSasl], options),
  );
}

describe("tributary --kafka with SASL credentials", () => {
  it("SASL/PLAIN from the environment: topics create, produce, consume", () => {
    const topic = `plain-${suffix}`;
    const env = { env: plainEnv };
    cli(["topics", "create", topic, "--partitions", "2", ...onSasl], env);
    const rows = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: { n: i } }));
    cli(["produce", topic, "--format", "json", "--value-serde", "json", ...onSasl], {
      ...env,
      input: rows.map((r) => JSON.stringify(r)).join("\n"),
    });
    const got = consumeJson(topic, env).map((r) => ({ key: r.key, value: r.value }));
    expect(got.sort((a, b) => a.key.localeCompare(b.key))).toEqual(
      rows.sort((a, b) => a.key.localeCompare(b.key)),
    );
  });

  it("SASL/SCRAM from a client config file: a word-count app's workers count every word", () => {
    const dir = tempDir();
    const passwordFile = path.join(dir, "password.txt");
    fs.writeFileSync(passwordFile, `${k.password}\n`);
    const config = path.join(dir, "client.json");
    fs.writeFileSync(
      config,
      JSON.stringify({ user: k.user, passwordFile, saslMechanism: "SCRAM-SHA-512" }),
    );
    const env = { env: { TRIBUTARY_CLIENT_CONFIG: config } };
    const input = `lines-${suffix}`;
    const output = `counts-${suffix}`;
    for (const t of [input, output])
      cli(["topics", "create", t, "--partitions", "2", ...onSasl], env);
    // one line a minute, ending an hour ago: Kafka refuses timestamps in the future
    const history = lines(200, 5, Date.now() - 5 * 3600_000, WORDS);
    cli(["produce", input, "--format", "json", ...onSasl], {
      ...env,
      input: history.map((l) => JSON.stringify(l)).join("\n"),
    });
    const apps = appDir();
    fs.writeFileSync(
      path.join(apps, "wc.ts"),
      wordCountApp({ applicationId: `wc-${suffix}`, input, output, minLength: 1 }),
    );
    const run = runCli(
      [
        "run",
        path.join(apps, "wc.ts"),
        "--workers",
        "2",
        "--until-caught-up",
        "--data",
        tempDir(),
        ...onSasl,
      ],
      { ...env, timeoutMs: 120_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    const latest = new Map<string, unknown>();
    for (const r of consumeJson(output, env)) latest.set(r.key, r.value);
    expect(latest).toEqual(reference(history, 1));
  });

  it("a wrong password: one line naming the user and the mechanism, within seconds", () => {
    const started = Date.now();
    const r = runCli(["topics", "list", ...onSasl], {
      env: { ...plainEnv, TRIBUTARY_SASL_MECHANISM: "SCRAM-SHA-256", TRIBUTARY_PASSWORD: "nope" },
      timeoutMs: 60_000,
    });
    expect(r.status).toBe(1);
    const line = expectOneLineError(r);
    expect(line).toContain(`user '${k.user}' with SASL/SCRAM-SHA-256`);
    expect(line).toMatch(/refused the login.*TRIBUTARY_PASSWORD/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("a bad mechanism or a missing password is named before connecting", () => {
    const bad = runCli(["topics", "list", ...onSasl], {
      env: { ...plainEnv, TRIBUTARY_SASL_MECHANISM: "SCRAM-SHA-1" },
    });
    expect(bad.status).toBe(2);
    expect(expectOneLineError(bad)).toMatch(
      /TRIBUTARY_SASL_MECHANISM is 'SCRAM-SHA-1'.*use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512/,
    );
    const noPassword = runCli(["topics", "list", ...onSasl], {
      env: { TRIBUTARY_USER: k.user, TRIBUTARY_PASSWORD: "" },
    });
    expect(noPassword.status).toBe(2);
    expect(expectOneLineError(noPassword)).toMatch(
      new RegExp(
        `user '${k.user}' has no password: set TRIBUTARY_PASSWORD or TRIBUTARY_PASSWORD_FILE`,
      ),
    );
  });
});
