import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, cli, eventually, startBroker } from "./helpers.js";

const mounts: string[] = [];
afterEach(async () => {
  await cleanup();
  for (const m of mounts.splice(0)) execFileSync("umount", ["-l", m]);
});

/** A real 8 MiB file system (tmpfs; the test needs root, as CI has). */
function smallDisk(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-cli-tmpfs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", dir], { stdio: "pipe" });
  } catch (err) {
    throw new Error(`this test needs root to mount a small tmpfs and fill it: ${String(err)}`);
  }
  mounts.push(dir);
  return dir;
}

describe("tributary broker on a full disk", () => {
  it("stops with exit 0 on SIGTERM, and starts again read-only serving every record", async () => {
    const disk = smallDisk();
    const data = path.join(disk, "data");
    let broker = await startBroker(data);
    cli(["topics", "create", "t", "--partitions", "1", "--broker", broker.address]);
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`);
    cli(["produce", "t", "--broker", broker.address], { input: `${lines.join("\n")}\n` });
    // Fill the file system to its last byte.
    const fd = fs.openSync(path.join(disk, "filler"), "w");
    for (let chunk = 1 << 20; chunk >= 1; chunk >>= 2) {
      try {
        for (const buf = Buffer.alloc(chunk); ; ) fs.writeSync(fd, buf);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
      }
    }
    fs.closeSync(fd);
    expect(fs.statfsSync(disk).bavail).toBe(0);

    broker.child.kill("SIGTERM");
    expect(await broker.exited, broker.stderr()).toBe(0);
    expect(broker.stderr()).not.toMatch(/broker stop failed/);

    broker = await startBroker(data);
    await eventually("the disk-full-start line", () =>
      /"event":"disk-full-start"/.test(broker.stderr()) ? true : undefined,
    );
    const out = cli([
      "consume",
      "t",
      "--from-beginning",
      "--max-messages",
      "50",
      "--broker",
      broker.address,
    ]);
    expect(out.trimEnd().split("\n")).toEqual(lines);
    broker.child.kill("SIGTERM");
    expect(await broker.exited, broker.stderr()).toBe(0);
  });
});
