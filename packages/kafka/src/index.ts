// The public surface of @tributary/kafka. Everything not listed here is internal.
export { KafkaLog, openKafkaLog } from "./kafka-log.js";
export { parseBrokers, type KafkaLogOptions } from "./kafka-cluster.js";
export { fromKafkaError } from "./errors.js";
export type { KafkaSaslOptions, KafkaTlsOptions } from "./kafka-security.js";
