// The public surface of @tributary/log: what apps, tools and the other packages use, and
// the types their signatures name. Everything not listed here is internal (the storage
// engine, the group coordinator, the wire protocol); test utilities are
// @tributary/log/testing's.
export * from "./errors.js";
export * from "./record.js";
export * from "./topic-config.js";
export type * from "./client/log-client.js";
export type * from "./client/batch-reader.js";

export { validateTopicName, isInternalTopic } from "./names.js";
export { DirLock, type LockHolder } from "./storage/dir-lock.js";
// Shared with the other Tributary packages, which retry their own calls the same way.
export { retryWithBackoff, type RetryPolicy } from "./retry-with-backoff.js";
export { Serdes, decodeOrThrow, type Serde, type RecordLocation } from "./serde.js";
export { murmur2, toPositive } from "./client/murmur2.js";
export { partitionForKey, StickyPartitioner } from "./client/partitioner.js";
export { RecordBatchBuilder, stampProducer } from "./client/record-batch-builder.js";
export { checkIsolation, type IsolationLevel } from "./client/isolation-level.js";
export { describePositionReset } from "./client/position-reset.js";

export { MAX_PARTITIONS } from "./storage/topic-registry.js";
export { validateGroupId } from "./groups/group-coordinator.js";
export {
  assignorFor,
  type Assignor,
  type AssignorMember,
  type PartitionCounts,
} from "./groups/assignor.js";
export { planOffsetReset, type PartitionOffsets } from "./groups/offset-reset.js";

export type { EmbeddedLogOptions } from "./embedded-log-service.js";
export { CONSUMER_TIMEOUT_DEFAULTS } from "./client/service-consumer.js";
export { openEmbeddedLog } from "./embedded-log.js";

export { connectBroker } from "./broker/connect-broker.js";
export {
  startBroker,
  type StartBrokerOptions,
  type RunningBroker,
  type BrokerConnectionLimits,
} from "./broker/run-broker.js";
export {
  parseBrokerAddress,
  formatBrokerAddress,
  type BrokerAddress,
} from "./broker/broker-address.js";
export { findRunningBroker, type BrokerInfo } from "./broker/broker-info.js";
export { openLog, DEFAULT_DATA_DIR, type OpenLogOptions } from "./open-log.js";
export { servingOrOpening, type ServingOrOpening } from "./broker/serving-or-opening.js";
export type { RetentionDeletion } from "./storage/retention-deletion.js";
export { openSecurityAdmin, type SecurityAdmin } from "./broker/security-admin.js";
export type { QuotaConfig, PrincipalQuota } from "./broker/quota-manager.js";
export {
  ACL_OPERATIONS,
  RESOURCE_TYPES,
  CLUSTER_RESOURCE,
  type AclBinding,
  type AclOperation,
  type ResourceType,
  type PatternType,
  type Permission,
} from "./security/acl.js";
export {
  BROKER_CREDENTIALS,
  clientCredentials,
  type ClientCredentials,
  type CredentialsTarget,
  KAFKA_CREDENTIALS,
  type SaslMechanism,
} from "./security/client-credentials.js";
export {
  startMetricsServer,
  type MetricsServerOptions,
  type RunningMetricsServer,
} from "./metrics/metrics-server.js";
export {
  checkDataDir,
  lockForRepair,
  repairDataDir,
  type CheckOptions,
  type PartitionDamage,
  type PartitionReport,
} from "./storage/partition-check.js";
// Kafka's RecordBatch v2 codec: @tributary/kafka encodes the batches it produces to Kafka,
// and decodes the ones it fetches, with the same code as the log's disk and broker.
export {
  encodeBatch,
  type EncodeOptions,
  RecordBatch,
  BATCH_HEADER_SIZE,
  MAGIC,
  type RecordVisitor,
  splitBatches,
  TRANSACTIONAL_FLAG,
  CONTROL_FLAG,
} from "./record-batch.js";
export { forEachKeyValue } from "./record-batch-key-values.js";
