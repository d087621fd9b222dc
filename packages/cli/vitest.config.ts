import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "cli",
    include: ["test/**/*.test.ts"],
    // Bounds for a hung test, not how long a test takes: every wait inside is on a
    // condition, and a loaded 2-core machine runs these real processes several times
    // slower than a quiet one (reprocess-history took 73 s alone there).
    testTimeout: 600_000,
    hookTimeout: 180_000,
  },
});
