import fs from "node:fs";

/**
 * CPU time and peak memory of a process and its descendants, read from /proc (Linux only),
 * so a JVM and a Node worker are measured the same way, from outside.
 *
 * /proc/<pid>/stat, after the command name in parentheses, fields from 3 on:
 *   state ppid … utime(14) stime(15) cutime(16) cstime(17) …   in clock ticks
 * cutime/cstime hold the CPU of children already waited for, so a tree's CPU is each live
 * member's utime+stime+cutime+cstime. /proc/<pid>/status `VmHWM` is a process's peak RSS.
 */

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux architecture Node supports

interface Stat {
  ppid: number;
  cpuTicks: number;
}

function readStat(pid: number): Stat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null; // exited meanwhile
  }
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // f[0] is field 3 (state), so field n is f[n - 3]
  const n = (field: number) => Number(f[field - 3]);
  return { ppid: n(4), cpuTicks: n(14) + n(15) + n(16) + n(17) };
}

/** `root` and every live process descending from it. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = readStat(pid);
    if (s === null) continue;
    children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

/** CPU seconds (user + system, children included) the tree under `root` has used so far. */
export function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) ticks += readStat(pid)?.cpuTicks ?? 0;
  return ticks / TICKS_PER_SECOND;
}

/** The sum of each live member's peak RSS, in MB. */
export function treePeakRssMB(root: number): number {
  let kb = 0;
  for (const pid of processTree(root)) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
      kb += Number(m?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return Math.round(kb / 1024);
}
