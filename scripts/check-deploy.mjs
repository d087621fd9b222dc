#!/usr/bin/env node
// Checks the shipped deployment files parse: every systemd unit under deploy/systemd with
// `systemd-analyze verify` (a template unit as an instance of it; any warning counts, since
// systemd ignores an unknown key with a warning and exit 0), the Dockerfile with
// dockerfile-utils (the validator of the Dockerfile language server), and, where a container
// engine answers `docker info`, a real `docker build`. Exits 1 naming each problem.
//   node scripts/check-deploy.mjs [--build] [--dir DIR]
//   --build: fail if no engine can build;  --dir: check another folder laid out as deploy/
//   (the test's damaged copies)
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { validate } from "dockerfile-utils";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const problems = [];
const checked = [];

const dirFlag = process.argv.indexOf("--dir");
const deploy = dirFlag === -1 ? path.join(root, "deploy") : path.resolve(process.argv[dirFlag + 1]);
const units = path.join(deploy, "systemd");
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-units-"));
for (const name of fs.readdirSync(units).filter((f) => f.endsWith(".service"))) {
  fs.copyFileSync(path.join(units, name), path.join(scratch, name));
  let target = name;
  if (name.endsWith("@.service")) {
    target = name.replace("@.service", "@example.service");
    fs.symlinkSync(name, path.join(scratch, target));
  }
  const r = spawnSync("systemd-analyze", ["verify", path.join(scratch, target)], {
    encoding: "utf8",
  });
  if (r.error !== undefined)
    problems.push(`${name}: systemd-analyze could not run: ${r.error.message}`);
  else if (r.status !== 0 || r.stderr.trim() !== "") {
    problems.push(`${name}: ${(r.stderr || r.stdout).trim() || `exit ${r.status}`}`);
  }
  checked.push(name);
}
fs.rmSync(scratch, { recursive: true, force: true });

const dockerfile = path.join(deploy, "Dockerfile");
for (const d of validate(fs.readFileSync(dockerfile, "utf8"))) {
  problems.push(`Dockerfile:${d.range.start.line + 1}: ${d.message}`);
}
checked.push("Dockerfile");

const engine = spawnSync("docker", ["info"], { encoding: "utf8" });
if (engine.status === 0) {
  const b = spawnSync("docker", ["build", "-f", dockerfile, "-t", "tributary:check", root], {
    stdio: "inherit",
  });
  if (b.status !== 0) problems.push(`docker build exited ${b.status}`);
  checked.push("docker build");
} else if (process.argv.includes("--build")) {
  problems.push("--build: no container engine answers `docker info`");
} else {
  console.log("no container engine answers `docker info`: the image was not built");
}

for (const p of problems) console.error(`check-deploy: ${p}`);
console.log(`checked ${checked.join(", ")}: ${problems.length} problem(s)`);
process.exit(problems.length === 0 ? 0 : 1);
