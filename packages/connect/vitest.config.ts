import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "connect",
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/postgres-global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
