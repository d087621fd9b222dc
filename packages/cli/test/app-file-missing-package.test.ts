import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, expectOneLineError, runCli, tempDir } from "./helpers.js";

afterEach(cleanup);

const APP = `import { defineApp } from "@tributary/streams";
export default defineApp({ applicationId: "a", topology: (b) => { b.stream("in").to("out"); } });
`;

describe("a topology file where @tributary/streams does not resolve", () => {
  it("says what to install and where it looked, not tsx's internal path", () => {
    const commonJs = tempDir("tributary-noapp-");
    const esm = tempDir("tributary-noapp-esm-");
    fs.writeFileSync(path.join(esm, "package.json"), JSON.stringify({ type: "module" }));
    for (const dir of [commonJs, esm]) {
      const file = path.join(dir, "app.ts");
      fs.writeFileSync(file, APP);
      const r = runCli(["describe", file]);
      expect(r.status).toBe(1);
      const line = expectOneLineError(r);
      expect(line).not.toMatch(/namespace=/);
      expect(line).toContain(
        `cannot load ${file}: it imports '@tributary/streams', which is not installed where the app lives (looked in ${path.join(dir, "node_modules")} and the node_modules of every folder above it): run npm install @tributary/streams in ${dir}`,
      );
    }
  });
});
