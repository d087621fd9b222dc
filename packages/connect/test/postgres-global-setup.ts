import { spawnSync } from "node:child_process";
import * as path from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** A Postgres server with wal_level=logical, or "" when none could be had. */
    pgUrl: string;
  }
}

const SCRIPT = path.resolve(import.meta.dirname, "../../../scripts/postgres.sh");

/**
 * The tests need a real Postgres with logical replication: TRIBUTARY_PG_URL if set (CI
 * starts one with scripts/postgres.sh), else one started here with the same script and
 * stopped at the end. When that fails the Postgres tests are skipped, and why is printed.
 */
export default function setup(project: TestProject): (() => void) | undefined {
  const given = process.env.TRIBUTARY_PG_URL;
  if (given !== undefined && given !== "") {
    project.provide("pgUrl", given);
    return undefined;
  }
  const wasRunning = spawnSync(SCRIPT, ["status"], { encoding: "utf8" }).status === 0;
  const r = spawnSync(SCRIPT, ["start"], { encoding: "utf8", timeout: 300_000 });
  const url = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !url.startsWith("postgres://")) {
    process.stderr.write(
      `\n@tributary/connect: SKIPPING the Postgres tests: scripts/postgres.sh start failed (${r.status}): ${r.stderr.trim()}\n` +
        "Set TRIBUTARY_PG_URL to a Postgres with wal_level=logical, or install PostgreSQL.\n\n",
    );
    project.provide("pgUrl", "");
    return undefined;
  }
  project.provide("pgUrl", url);
  return wasRunning ? undefined : () => void spawnSync(SCRIPT, ["stop"]);
}
