import path from "node:path";
import type { Backend } from "../../streams/test/runtime-helpers.js";
import type { SaslMechanism } from "@tributary/log";
import { dropNamespace, kafkaBrokers, openTestLog, uniqueNamespace } from "./kafka-helpers.js";
import { securedKafka } from "./secured-kafka.js";

/**
 * The streams scenarios' backend on Kafka (see Backend in packages/streams/test/
 * runtime-helpers.ts): a namespace of its own on the test broker for the test's client and
 * for every worker process it starts, dropped when the test ends. With a SASL mechanism,
 * the client and the workers log in with it on the broker's SASL listener.
 */
export async function kafkaBackend(
  prefix = "streams",
  mechanism?: SaslMechanism,
): Promise<Backend> {
  const namespace = uniqueNamespace(prefix);
  const log = await openTestLog(namespace, mechanism);
  const brokers = mechanism === undefined ? kafkaBrokers() : securedKafka().sasl;
  return {
    name: "kafka",
    log,
    workerArgs: [
      "--connect",
      path.join(import.meta.dirname, "fixtures", "kafka-connect.ts"),
      "--address",
      `${brokers}#${namespace}${mechanism === undefined ? "" : `#${mechanism}`}`,
    ],
    close: async () => {
      await log.close();
      await dropNamespace(namespace);
    },
  };
}
