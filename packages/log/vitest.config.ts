import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "log",
    include: ["test/**/*.test.ts"],
    testTimeout: 180_000, // a hang guard: the machine is shared and its speed drifts
    hookTimeout: 60_000,
  },
});
