import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "example-log-demo",
    include: ["test/**/*.test.ts"],
    testTimeout: 600_000,
  },
});
