import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, cli, expectOneLineError, runCli, tempDir } from "./helpers.js";

afterEach(cleanup);

describe("errors are one line, no stack, exit code != 0", () => {
  it("bad usage exits 2; failures exit 1; --verbose adds the stack", () => {
    const data = tempDir();
    cli(["topics", "create", "t", "--data", data]);
    const usage: string[][] = [
      ["consume", "t", "--no-such-flag", "--data", data],
      ["topics", "create", "x", "--partitions", "many", "--data", data],
      ["topics", "create", "x", "--config", "retention.ms=soon", "--data", data],
      ["topics", "create", "x", "--config", "no.such.config=1", "--data", data],
      ["produce", "t", "--file", path.join(data, "missing.txt"), "--data", data],
      ["produce", "t", "--value-serde", "yaml", "--data", data],
      ["consume", "t", "--from-time", "yesterday", "--data", data],
      ["consume", "t", "--group", "g", "--offset", "3", "--data", data],
      ["consume", "t", "--isolation", "serializable", "--data", data],
      ["topics", "create", "bad/name", "--data", data],
      ["topics", "list", "--kafka", "127.0.0.1:1", "--broker", "127.0.0.1:2"],
    ];
    for (const args of usage) {
      const r = runCli(args);
      expect(r.status, args.join(" ")).toBe(2);
      expectOneLineError(r);
    }
    const failures: [string[], RegExp][] = [
      [["consume", "nope", "--data", data], /topic 'nope' does not exist/],
      [["produce", "nope", "--data", data], /topic 'nope' does not exist/],
      [["topics", "list", "--broker", "127.0.0.1:1"], /cannot connect to the broker/],
      [["topics", "create", "t", "--data", data], /exists/],
    ];
    for (const [args, message] of failures) {
      const r = runCli(args);
      expect(r.status, args.join(" ")).toBe(1);
      expect(expectOneLineError(r)).toMatch(message);
    }
    const verbose = runCli(["consume", "nope", "--data", data, "--verbose"]);
    expect(verbose.status).toBe(1);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });

  it("a malformed input line names its line number and the lines stored before it", () => {
    const data = tempDir();
    cli(["topics", "create", "t", "--data", data]);
    const r = runCli(["produce", "t", "--format", "json", "--data", data], {
      input: '{"value":"a"}\n{"value":"b"}\nnot json\n',
    });
    expect(r.status).toBe(2);
    expect(expectOneLineError(r)).toMatch(/line 3: .*input lines 1–2 stored .*--skip 2/);
    expect(cli(["consume", "t", "--data", data])).toBe("a\nb\n");
    expect(fs.existsSync(data)).toBe(true);
  });
});
