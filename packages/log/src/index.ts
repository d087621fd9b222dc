// The public surface of @tributary/log. Everything not listed here is internal.
export * from "./errors.js";
export * from "./record.js";
export {
  encodeBatch,
  encodeBatchAt,
  RecordBatch,
  splitBatches,
  MAGIC,
  type EncodeOptions,
} from "./record-batch.js";
export * from "./topic-config.js";
export type * from "./log-client.js";
export type * from "./log-service.js";

export {
  validateTopicName,
  isValidTopicName,
  isInternalTopic,
  MAX_TOPIC_NAME_LENGTH,
} from "./names.js";
export { DirLock, type LockHolder } from "./dir-lock.js";
export { Serdes, decodeOrThrow, type Serde, type RecordLocation } from "./serde.js";
export { murmur2, toPositive } from "./murmur2.js";
export { partitionForKey, StickyPartitioner } from "./partitioner.js";

export { PartitionLog, type PartitionLogOptions } from "./partition-log.js";
export { TopicRegistry, type TopicMetadata, MAX_PARTITIONS } from "./topic-registry.js";
export {
  GroupCoordinator,
  validateGroupId,
  DEFAULT_INITIAL_REBALANCE_DELAY_MS,
  MAX_GROUP_ID_LENGTH,
  type GroupCoordinatorOptions,
} from "./group-coordinator.js";
export {
  assignorFor,
  type Assignor,
  type AssignorMember,
  type PartitionCounts,
} from "./assignor.js";
export { rangeAssignor } from "./range-assignor.js";
export { stickyAssignor } from "./sticky-assignor.js";
export { OffsetStore, type OffsetJournal, type StoredOffset } from "./offset-store.js";
export { planOffsetReset, type PartitionOffsets } from "./offset-reset.js";

export { ServiceLogClient } from "./service-log-client.js";
export { CONSUMER_TIMEOUT_DEFAULTS } from "./service-consumer.js";
export {
  EmbeddedLogService,
  CONSUMER_OFFSETS_TOPIC,
  type EmbeddedLogOptions,
} from "./embedded-log-service.js";
export { openEmbeddedLog } from "./embedded-log.js";

export { connectBroker } from "./broker/connect-broker.js";
export {
  startBroker,
  type StartBrokerOptions,
  type RunningBroker,
  type BrokerConnectionLimits,
} from "./broker/run-broker.js";
export { BrokerServer, type BrokerServerOptions } from "./broker/broker-server.js";
export { RemoteLogService, type RemoteLogServiceOptions } from "./broker/remote-log-service.js";
export {
  parseBrokerAddress,
  formatBrokerAddress,
  DEFAULT_BROKER_PORT,
  type BrokerAddress,
} from "./broker/broker-address.js";
export { findRunningBroker, type BrokerInfo } from "./broker/broker-info.js";
export { openLog, DEFAULT_DATA_DIR, type OpenLogOptions } from "./open-log.js";
export { logMetrics } from "./log-metrics.js";
export { formatAge, type RetentionDeletion } from "./retention-deletion.js";
export { DEFAULT_RESERVE_BYTES, RESERVE_FILE } from "./disk-reserve.js";
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
export { clientCredentials, type ClientCredentials } from "./security/client-credentials.js";
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
} from "./partition-check.js";
