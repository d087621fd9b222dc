import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO, cleanup, tempDir } from "./helpers.js";

const CHECK = path.join(REPO, "scripts/check-deploy.mjs");

function check(deployDir?: string) {
  const args = deployDir === undefined ? [] : ["--dir", deployDir];
  return spawnSync(process.execPath, [CHECK, ...args], { encoding: "utf8" });
}

/** A copy of deploy/ with one file changed by `edit`. */
function damaged(file: string, edit: (text: string) => string): string {
  const dir = tempDir("tributary-deploy-");
  fs.cpSync(path.join(REPO, "deploy"), dir, { recursive: true });
  const target = path.join(dir, file);
  fs.writeFileSync(target, edit(fs.readFileSync(target, "utf8")));
  return dir;
}

afterAll(cleanup);

describe("the shipped deployment files", () => {
  it("parse: both systemd units verify without a warning and the Dockerfile validates", () => {
    const r = check();
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(
      /checked tributary-app@\.service, tributary-broker\.service, Dockerfile.*: 0 problem/,
    );
    expect(r.status).toBe(0);
  });

  it("the check names a unit with an unknown key, which systemd itself only warns about", () => {
    const dir = damaged("systemd/tributary-broker.service", (t) =>
      t.replace("KillSignal=SIGTERM", "KillSignall=SIGTERM"),
    );
    const r = check(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/tributary-broker\.service: .*Unknown key 'KillSignall'/);
  });

  it("the check names a Dockerfile line with a misspelt instruction", () => {
    const dir = damaged("Dockerfile", (t) => t.replace("EXPOSE 7070", "EXPOSES 7070"));
    const r = check(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Dockerfile:\d+: Unknown instruction: EXPOSES/);
  });
});
