import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanup, expectOneLineError, runCli, tempDir } from "./helpers.js";

afterAll(cleanup);

describe("tributary init", () => {
  it("refuses a folder that holds a file, and leaves the file as it was", () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "notes.txt"), "mine");
    const r = runCli(["init", dir]);
    expect(r.status).toBe(2);
    expect(expectOneLineError(r)).toMatch(/is not empty/);
    expect(fs.readdirSync(dir)).toEqual(["notes.txt"]);
    expect(fs.readFileSync(path.join(dir, "notes.txt"), "utf8")).toBe("mine");
  });

  it("refuses a name that cannot be a package name, and says to pass --name", () => {
    const dir = path.join(tempDir(), "My App");
    const r = runCli(["init", dir]);
    expect(r.status).toBe(2);
    expect(expectOneLineError(r)).toMatch(/"my app" cannot be a package name.*--name/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it("writes a project whose package.json depends on this command's own version", () => {
    const dir = path.join(tempDir(), "clicks");
    runCli(["init", dir]);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    const own = JSON.parse(
      fs.readFileSync(path.resolve(import.meta.dirname, "../package.json"), "utf8"),
    );
    expect(pkg.name).toBe("clicks");
    expect(pkg.dependencies["@tributary/streams"]).toBe(`^${own.version}`);
    expect(fs.readFileSync(path.join(dir, "src/app.ts"), "utf8")).toContain(
      'applicationId: "clicks"',
    );
    expect(fs.existsSync(path.join(dir, "test/app.test.ts"))).toBe(true);
  });
});
