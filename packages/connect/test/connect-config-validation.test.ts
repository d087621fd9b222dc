import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConnectConfigError, planConnectors } from "@tributary/connect";
import { afterEach, describe, expect, it } from "vitest";
import { BIN, cleanup, tempDir } from "./helpers.js";

afterEach(cleanup);

const source = (config: Record<string, unknown>) => ({
  connectors: [{ name: "cdc", type: "postgres-source", config }],
});

describe("connect files are checked before anything starts", () => {
  it.each([
    [source({ tables: ["t"], topicPrefix: "p" }), "connectors[0].config.connection"],
    [
      source({ connection: "postgres://x", tables: [], topicPrefix: "p" }),
      "connectors[0].config.tables",
    ],
    [
      source({
        connection: "postgres://x",
        tables: ["t"],
        topicPrefix: "p",
        heartbeatIntervalMs: "1s",
      }),
      "connectors[0].config.heartbeatIntervalMs",
    ],
    [
      source({ connection: "postgres://x", tables: ["t"], topicPrefix: "p", slot: "s" }),
      "connectors[0].config.slot",
    ],
    [{ connectors: [{ name: "x", type: "mysql-source", config: {} }] }, "connectors[0].type"],
    [
      {
        connectors: [{ name: "s", type: "postgres-sink", config: { connection: "postgres://x" } }],
      },
      "connectors[0].topics",
    ],
    [
      {
        connectors: [
          {
            name: "s",
            type: "postgres-sink",
            topics: ["a"],
            tasksMax: 0,
            config: { connection: "postgres://x" },
          },
        ],
      },
      "connectors[0].tasksMax",
    ],
    [
      {
        connectors: [
          {
            name: "s",
            type: "postgres-sink",
            topics: ["a/b"],
            config: { connection: "postgres://x" },
          },
        ],
      },
      "connectors[0].topics[0]",
    ],
    [{ connectors: [] }, "connectors"],
  ])("%# names %s", (file, field) => {
    let caught: unknown;
    try {
      planConnectors(file);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConnectConfigError);
    expect((caught as ConnectConfigError).field).toBe(field);
    expect((caught as Error).message.startsWith(`${field}: `)).toBe(true);
  });

  it("tributary connect run refuses a bad file with exit code 2 and the field, starting no worker", () => {
    const dir = tempDir();
    const file = path.join(dir, "bad.json");
    fs.writeFileSync(
      file,
      JSON.stringify(source({ connection: "postgres://x", topicPrefix: "p" })),
    );
    const r = spawnSync(process.execPath, [BIN, "connect", "run", file, "--data", dir], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/connectors\[0\]\.config\.tables: missing; it is required/);
    expect(r.stderr).not.toMatch(/worker 0/);
  });
});
