import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { appDir, cleanup, cli, expectOneLineError, runCli, tempDir, UPPER_APP } from "./helpers.js";

afterEach(cleanup);

describe("tributary run --processing-guarantee", () => {
  it("refuses a value that is not a guarantee, naming the ones there are, before starting anything", () => {
    const data = tempDir();
    const apps = appDir();
    fs.writeFileSync(path.join(apps, "upper.ts"), UPPER_APP);
    cli(["topics", "create", "in", "--partitions", "1", "--data", data]);
    cli(["topics", "create", "out", "--partitions", "1", "--data", data]);
    const r = runCli([
      "run",
      path.join(apps, "upper.ts"),
      "--processing-guarantee",
      "exactly-once",
      "--until-caught-up",
      "--data",
      data,
    ]);
    expect(r.status).toBe(2); // a usage error
    expect(expectOneLineError(r)).toMatch(
      /--processing-guarantee exactly-once: expected one of at_least_once, exactly_once/,
    );
    // no worker ran: the app's group was never joined
    const groups = cli(["groups", "list", "--data", data]);
    expect(groups).not.toMatch(/upper/);
  });
});
