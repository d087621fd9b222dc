import { defineProject } from "vitest/config";

// The Kafka suite needs a running Kafka broker (scripts/kafka.sh start). Without
// TRIBUTARY_KAFKA_BROKERS this project has no test files, so the default `npm test` does
// not depend on Kafka; .ci/run starts a broker and runs `vitest run --project kafka` with
// the variable set. Asking for this project without the variable fails with "No test files
// found": it never passes silently.
const brokers = process.env.TRIBUTARY_KAFKA_BROKERS;

export default defineProject({
  test: {
    name: "kafka",
    include: brokers ? ["test/**/*.test.ts"] : [],
    testTimeout: 400_000, // a hang guard: the machine is shared and its speed drifts
    hookTimeout: 60_000,
    // One broker on a 2-core machine: files run one after another.
    fileParallelism: false,
  },
});
