import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * Quix Streams (Python) for the word count only: installed with pip from the package
 * registry into a venv of its own (~/.cache/tributary/quix-venv, once), run as
 * `python quix/word_count.py`. If Python, venv or the install is missing or too slow, the
 * benchmark goes on without it and says why. PEERS_QUIX=0 skips it.
 */

const QUIX_VERSION = "3.28.1";
const INSTALL_TIMEOUT_MS = 180_000;
const venv = path.join(os.homedir(), ".cache", "tributary", "quix-venv");
export const quixScript = path.join(import.meta.dirname, "quix", "word_count.py");

/** The venv's python with quixstreams importable, or the reason there is none. */
export function quixPython(): { python: string } | { skipped: string } {
  if (process.env.PEERS_QUIX === "0") return { skipped: "PEERS_QUIX=0" };
  const python = path.join(venv, "bin", "python");
  const importable = () =>
    spawnSync(python, ["-c", "import quixstreams"], { stdio: "ignore" }).status === 0;
  if (fs.existsSync(python) && importable()) return { python };
  console.log(`installing quixstreams ${QUIX_VERSION} with pip into ${venv} ...`);
  const steps: [string, string[]][] = [
    ["python3", ["-m", "venv", venv]],
    [path.join(venv, "bin", "pip"), ["install", "-q", `quixstreams==${QUIX_VERSION}`]],
  ];
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  for (const [command, args] of steps) {
    const r = spawnSync(command, args, {
      encoding: "utf8",
      timeout: Math.max(1, deadline - Date.now()),
    });
    if (r.error !== undefined || r.status !== 0) {
      const why = r.error?.message ?? `${r.stderr}`.trim().split("\n").slice(-3).join(" ");
      return {
        skipped: `${command} ${args.join(" ")} failed or took over ${INSTALL_TIMEOUT_MS / 1000} s: ${why}`,
      };
    }
  }
  return importable() ? { python } : { skipped: "quixstreams installed but does not import" };
}
