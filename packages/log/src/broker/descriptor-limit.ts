import fs from "node:fs";

/**
 * File descriptors: the one resource a broker's connections and its segment files share.
 * Every connection holds one descriptor; every open segment holds its log file (and its
 * indexes while active). When connections take them all, the next segment roll fails with
 * EMFILE, so the broker caps connections and keeps the rest in reserve for its files.
 */

/** The soft RLIMIT_NOFILE of this process (Linux: /proc/self/limits), or undefined. */
export function descriptorLimit(): number | undefined {
  try {
    const line = fs
      .readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.split(/\s+/)[3];
    if (soft === undefined || soft === "unlimited") return undefined;
    const n = Number(soft);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Descriptors this process holds now (Linux: /proc/self/fd), or undefined. Reading the
 * directory takes a descriptor itself: when none is left, that failure is the answer
 * (`limit`, all of them).
 */
export function openDescriptorCount(limit?: number): number | undefined {
  try {
    return fs.readdirSync("/proc/self/fd").length;
  } catch (err) {
    return isDescriptorExhaustion(err) ? limit : undefined;
  }
}

/** Used when the limit cannot be read (not Linux). */
export const FALLBACK_MAX_CONNECTIONS = 1000;
/** Upper bound of the default, whatever the descriptor limit: memory, not descriptors, binds. */
export const MAX_DEFAULT_CONNECTIONS = 10_000;

/**
 * The default `max.connections`: half of the descriptors still free when the broker starts
 * (its data directory already open), at most 10,000 and at least 16. The other half stays
 * in reserve for segment rolls, new topics and index files.
 */
export function defaultMaxConnections(
  limit = descriptorLimit(),
  inUse = openDescriptorCount(),
): number {
  if (limit === undefined) return FALLBACK_MAX_CONNECTIONS;
  const free = limit - (inUse ?? 0);
  return Math.max(16, Math.min(MAX_DEFAULT_CONNECTIONS, Math.floor(free / 2)));
}

/** True when `err`, or an error in its cause chain, is EMFILE or ENFILE. */
export function isDescriptorExhaustion(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EMFILE" || code === "ENFILE") return true;
    if (/\b(EMFILE|ENFILE)\b/.test(e.message)) return true;
  }
  return false;
}

/** What to tell an operator when descriptors ran out: the two limits that decide it. */
export function descriptorAdvice(
  maxConnections: number,
  connections: number,
  limit = descriptorLimit(),
): string {
  const open = openDescriptorCount(limit);
  return (
    `the broker ran out of file descriptors (${open ?? "?"} open, limit ${limit ?? "unknown"}; ` +
    `${connections} connections, max.connections ${maxConnections}): raise the limit ` +
    "(ulimit -n, or LimitNOFILE= in a systemd unit) or lower --max-connections so that " +
    "descriptors stay free for segment files"
  );
}
