import path from "node:path";
import type { Backend } from "../../streams/test/runtime-helpers.js";
import { dropNamespace, kafkaBrokers, openTestLog, uniqueNamespace } from "./kafka-helpers.js";

/**
 * The streams scenarios' backend on Kafka (see Backend in packages/streams/test/
 * runtime-helpers.ts): a namespace of its own on the test broker for the test's client and
 * for every worker process it starts, dropped when the test ends.
 */
export async function kafkaBackend(prefix = "streams"): Promise<Backend> {
  const namespace = uniqueNamespace(prefix);
  const log = await openTestLog(namespace);
  return {
    name: "kafka",
    log,
    workerArgs: [
      "--connect",
      path.join(import.meta.dirname, "fixtures", "kafka-connect.ts"),
      "--address",
      `${kafkaBrokers()}#${namespace}`,
    ],
    close: async () => {
      await log.close();
      await dropNamespace(namespace);
    },
  };
}
