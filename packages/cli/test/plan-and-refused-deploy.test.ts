import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { appDir, cleanup, cli, runCli, tempDir } from "./helpers.js";

afterEach(cleanup);

/** Word count whose store and grouping names come from the DSL's counter (no names given). */
function app(filterEmpty: boolean): string {
  return `
import { Serdes, defineApp } from "@tributary/streams";
const str = Serdes.string();
export default defineApp({
  applicationId: "wc",
  topology: (b) => {
    b.stream<string | null, string>("lines", { keySerde: str, valueSerde: str })
      .flatMapValues((line) => line.split(" "))${filterEmpty ? "\n      .filter((_k, w) => w.length > 0)" : ""}
      .groupBy((_k, w) => w, { keySerde: str, valueSerde: str })
      .count()
      .toStream()
      .to("counts", { keySerde: str, valueSerde: Serdes.json<number | null>() });
  },
});
`;
}

describe("tributary plan and a deploy that would orphan state", () => {
  it("plans a first deploy, then finds an operator added before generated names incompatible; run refuses it until told, and a reset forgets the deployed topology", () => {
    const data = tempDir();
    const apps = appDir();
    const v1 = path.join(apps, "wc-v1.ts");
    const v2 = path.join(apps, "wc-v2.ts");
    fs.writeFileSync(v1, app(false));
    fs.writeFileSync(v2, app(true));
    for (const t of ["lines", "counts"])
      cli(["topics", "create", t, "--partitions", "2", "--data", data]);
    cli(["produce", "lines", "--data", data], { input: "a b c\nb c\nc\n" });

    const first = runCli(["plan", v1, "--data", data]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain("app wc: first deploy");

    const run1 = runCli(["run", v1, "--until-caught-up", "--data", data]);
    expect(run1.status, run1.stderr).toBe(0);
    const same = runCli(["plan", v1, "--data", data]);
    expect(same.status, same.stderr).toBe(0);
    expect(same.stdout).toMatch(/compared with the topology deployed at .*\n {2}no changes\n/);

    // The filter moves the counter: the store and its repartition topic get new names.
    const changed = runCli(["plan", v2, "--data", data]);
    expect(changed.status, changed.stdout).toBe(3);
    expect(changed.stdout).toMatch(
      /incompatible store KSTREAM-AGGREGATE-STATE-STORE-0000000004 is renamed KSTREAM-AGGREGATE-STATE-STORE-0000000005: the state of KSTREAM-AGGREGATE-STATE-STORE-0000000004 and its changelog wc-KSTREAM-AGGREGATE-STATE-STORE-0000000004-changelog would be orphaned/,
    );
    expect(changed.stdout).toContain(
      'name the store (e.g. { storeName: "KSTREAM-AGGREGATE-STATE-STORE-0000000004" })',
    );
    expect(changed.stdout).toMatch(
      /incompatible repartition topic wc-KSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition is replaced/,
    );
    expect(changed.stdout).toContain("verdict: incompatible");

    const refused = runCli(["run", v2, "--until-caught-up", "--data", data]);
    expect(refused.status).toBe(1);
    const lastLine = refused.stderr.trim().split("\n").at(-1)!;
    expect(lastLine).toMatch(
      /^tributary: refusing to deploy wc: it is incompatible with the deployed topology \(store KSTREAM-AGGREGATE-STATE-STORE-0000000004 is renamed/,
    );
    expect(lastLine).toContain("--allow-incompatible");
    expect(refused.stderr).toContain("verdict: incompatible");
    // Refused means nothing ran and nothing was recorded: the plan is unchanged.
    expect(runCli(["plan", v2, "--data", data]).status).toBe(3);

    const forced = runCli(["run", v2, "--until-caught-up", "--allow-incompatible", "--data", data]);
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.stderr).toContain("deploying with --allow-incompatible despite the plan");
    expect(runCli(["plan", v2, "--data", data]).stdout).toContain("no changes");
    // Going back is the same rename the other way.
    expect(runCli(["plan", v1, "--data", data]).status).toBe(3);

    const reset = runCli(["reset", "--app", "wc", "--to-earliest", "--data", data]);
    expect(reset.status, reset.stderr).toBe(0);
    expect(reset.stdout).toContain("deployed topology forgotten");
    const afterReset = runCli(["plan", v1, "--data", data]);
    expect(afterReset.status).toBe(0);
    expect(afterReset.stdout).toContain("app wc: first deploy");
  });
});
