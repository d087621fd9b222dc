import { defineConfig } from "vitest/config";

// One vitest run over every package, so CI reads a single JSON report.
export default defineConfig({
  test: {
    projects: ["packages/*", "examples/*"],
  },
});
