import { describeLogClientContract } from "@tributary/log/testing";
import type { KafkaLog } from "../src/kafka-log.js";
import { dropNamespace, kafkaBrokers, openTestLog, uniqueNamespace } from "./kafka-helpers.js";

kafkaBrokers();

// The same suite the embedded log and the broker pass, on a real Apache Kafka broker. Each
// test gets a namespace of its own (see uniqueNamespace); `reopen` is a new client on the
// same cluster, which proves records and commits live in Kafka, not in the client.
describeLogClientContract("Apache Kafka", async () => {
  const namespace = uniqueNamespace();
  let current: KafkaLog = await openTestLog(namespace);
  return {
    client: current,
    reopen: async () => {
      await current.close();
      current = await openTestLog(namespace);
      return current;
    },
    cleanup: async () => {
      await current.close();
      await dropNamespace(namespace);
    },
  };
});
