import { defineConfig } from "vitest/config";

// One vitest run over every package, so CI reads a single JSON report. Two files at a
// time on this 2-core machine: most tests wait on child processes and sockets, and they
// are written to pass on a loaded machine; one at a time took 14 minutes.
export default defineConfig({
  test: {
    projects: ["packages/*", "examples/*"],
    maxWorkers: 2,
  },
});
