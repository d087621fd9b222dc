import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { appDir, cleanup, cli, runCli, tempDir } from "./helpers.js";

afterEach(cleanup);

// Every record fails with a 2 KB error message, which its dead-letter copy carries in a
// header: 6,000 of them are 12 MB of headers on small values.
const FAILING = `
import { Serdes, defineApp } from "@tributary/streams";
const str = Serdes.string();
export default defineApp({
  applicationId: "long-errors",
  topology: (b) => {
    b.stream<string, string>("in", { keySerde: str, valueSerde: str })
      .mapValues((v) => {
        throw new Error("cannot parse " + v + ": " + "x".repeat(2000));
      })
      .to("out", { keySerde: str, valueSerde: str });
  },
});
`;

describe("dead-lettering records whose errors are long", () => {
  it("stores every one in the dead-letter topic and counts them, instead of failing the worker over and over on a batch over max.message.bytes", () => {
    const data = tempDir();
    const file = path.join(appDir(), "long-errors.ts");
    fs.writeFileSync(file, FAILING);
    for (const t of ["in", "out"]) cli(["topics", "create", t, "--data", data]);
    const n = 6000;
    const lines = Array.from({ length: n }, (_, i) => `line-${i}`).join("\n");
    cli(["produce", "in", "--data", data], { input: lines });
    const r = runCli(["run", file, "--until-caught-up", "--progress", "plain", "--data", data]);
    expect(r.stderr).not.toMatch(/exceeds max\.message\.bytes/);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`${n} dead-lettered to 'long-errors-dlq'`));
    const dlq = cli(["consume", "long-errors-dlq", "--data", data]).split("\n").filter(Boolean);
    expect(new Set(dlq)).toEqual(new Set(Array.from({ length: n }, (_, i) => `line-${i}`)));
    expect(dlq).toHaveLength(n);
  });
});
