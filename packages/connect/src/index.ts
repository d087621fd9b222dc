// The public surface of @tributary/connect. Everything not listed here is internal.
export * from "./errors.js";
export {
  defineSourceConnector,
  defineSinkConnector,
  type Connector,
  type SourceConnector,
  type SinkConnector,
  type SourceTask,
  type SinkTask,
  type SourceRecord,
  type SourceBatch,
  type SinkRecord,
  type SourceOffset,
  type TaskContext,
  type SourceTaskContext,
} from "./connector.js";
export { validateConfig, type ConfigDef, type ConfigOf, type FieldSpec } from "./config-def.js";
export {
  defineConnect,
  loadConnectFile,
  planConnectors,
  tasksForWorker,
  type ConnectFile,
  type ConnectorEntry,
  type ConnectorPlan,
  type TaskPlan,
} from "./connect-file.js";
export {
  ConnectWorker,
  readTaskStatuses,
  type ConnectWorkerOptions,
  type TaskStatus,
  type TaskState,
} from "./connect-worker.js";
export {
  ConnectMetrics,
  TASK_COUNTERS,
  TASK_GAUGES,
  type ConnectTaskReport,
} from "./connect-metrics.js";
export { KeyedTopic, OFFSETS_TOPIC, STATUS_TOPIC, offsetKey } from "./keyed-topic.js";
export { BUILT_IN_CONNECTORS } from "./built-in-connectors.js";
export {
  postgresSourceConnector,
  type PostgresSourceConfig,
} from "./postgres/postgres-source-connector.js";
export {
  postgresSinkConnector,
  type PostgresSinkConfig,
} from "./postgres/postgres-sink-connector.js";
export { asEnvelope, type ChangeEnvelope, type Op } from "./postgres/change-envelope.js";
export { filesSinkConnector, type FilesSinkConfig } from "./files/files-sink-connector.js";
