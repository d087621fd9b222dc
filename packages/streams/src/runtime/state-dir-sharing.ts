import fs from "node:fs";
import path from "node:path";

let next = 0;

/**
 * Tells whether other live workers of the app use the same state directory. Each worker
 * keeps a marker file `<stateDir>/<applicationId>/.workers/<pid>.<n>` while it runs; a
 * marker whose process is gone (a killed worker) counts for nothing. Only processes of
 * this machine can share a directory, so a process id check suffices.
 */
export class StateDirSharing {
  private readonly dir: string;
  private readonly mine: string;

  constructor(stateDir: string, applicationId: string) {
    this.dir = path.join(stateDir, applicationId, ".workers");
    this.mine = `${process.pid}.${next++}`;
  }

  enter(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(path.join(this.dir, this.mine), "");
  }

  /** Process ids of the other live workers here. */
  others(): number[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    const pids: number[] = [];
    for (const name of names) {
      if (name === this.mine) continue;
      const pid = Number(name.split(".")[0]);
      if (Number.isSafeInteger(pid) && alive(pid)) pids.push(pid);
      else fs.rmSync(path.join(this.dir, name), { force: true });
    }
    return pids;
  }

  leave(): void {
    fs.rmSync(path.join(this.dir, this.mine), { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
