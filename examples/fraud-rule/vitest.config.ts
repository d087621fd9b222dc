import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "example-fraud-rule",
    include: ["test/**/*.test.ts"],
    testTimeout: 600_000,
  },
});
