import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "example-word-count",
    include: ["test/**/*.test.ts"],
    testTimeout: 600_000,
  },
});
