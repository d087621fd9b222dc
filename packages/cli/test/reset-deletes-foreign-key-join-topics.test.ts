import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { appDir, cleanup, cli, runCli, tempDir } from "./helpers.js";

afterEach(cleanup);

// Orders joined with their customers by foreign key: the join makes two internal topics of
// its own besides the changelogs.
const FK_APP = `
import { Serdes, defineApp } from "@tributary/streams";
const str = Serdes.string();
const json = Serdes.json<{ customer: string }>();
export default defineApp({
  applicationId: "fk",
  topology: (b) => {
    const customers = b.table<string, string>("customers", { keySerde: str, valueSerde: str }, { storeName: "customers" });
    const orders = b.table<string, { customer: string }>("orders", { keySerde: str, valueSerde: json }, { storeName: "orders" });
    orders
      .join(customers, (o) => o.customer, (o, c) => \`\${o.customer}:\${c}\`, { storeName: "joined", valueSerde: str }, { name: "by-customer" })
      .toStream()
      .to("joined", { keySerde: str, valueSerde: str });
  },
});
`;

describe("reset and a foreign-key join", () => {
  it("deletes and recreates the join's subscription topics with the repartition topics, so a rerun starts them empty", () => {
    // no input: the run only has to make the app's topics
    const data = tempDir();
    const file = path.join(appDir(), "fk.ts");
    fs.writeFileSync(file, FK_APP);
    for (const t of ["customers", "orders", "joined"]) {
      cli(["topics", "create", t, "--partitions", "2", "--data", data]);
    }
    const run = runCli(["run", file, "--until-caught-up", "--progress", "none", "--data", data]);
    expect(run.status, run.stderr).toBe(0);
    const topics = [
      "fk-by-customer-subscription-registration-topic",
      "fk-by-customer-subscription-response-topic",
    ];

    const plan = cli(["reset", file, "--to-earliest", "--data", data]);
    for (const t of topics) expect(plan).toContain(t);
    expect(plan).toMatch(
      /internal topics deleted: .*fk-by-customer-subscription-registration-topic/,
    );
    for (const t of topics) {
      // made again as a repartition topic is: same partitions, empty
      const d = cli(["topics", "describe", t, "--data", data]);
      expect(d).toMatch(new RegExp(`topic ${t}: 2 partitions, 0 records held`));
    }
  });
});
