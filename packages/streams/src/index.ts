// The public surface of @tributary/streams. Everything not listed here is internal.
export * from "./errors.js";
export { Serdes, defaultSerde, type Serde } from "./serdes.js";
export {
  checkProcessingGuarantee,
  defineApp,
  type AppDefinition,
  type QueryableStores,
} from "./dsl/define-app.js";
export type { App, AppConfig, BuildOptions } from "./topology/app.js";
export {
  PROCESSING_GUARANTEES,
  type ProcessingGuarantee,
} from "./runtime/task-committer.js";
export { transactionalIdFor } from "./runtime/exactly-once-commit.js";
export { StreamsBuilder } from "./dsl/streams-builder.js";
export { KStream } from "./dsl/kstream.js";
export { KTable } from "./dsl/ktable.js";
export { GlobalKTable } from "./dsl/global-ktable.js";
export { KGroupedStream } from "./dsl/kgrouped-stream.js";
export { KGroupedTable } from "./dsl/kgrouped-table.js";
export { BranchedKStream } from "./dsl/branched-kstream.js";
export type {
  Branched,
  Consumed,
  Grouped,
  Materialized,
  Named,
  Produced,
  Repartitioned,
} from "./dsl/options.js";
export type { KeyValue, RecordMetadata, StreamRecord } from "./runtime/stream-record.js";
export { type Change, changeSerde } from "./runtime/change.js";
export type { RecordCollector } from "./runtime/record-collector.js";
export { StreamTask, type ErrorHandling, type StreamTaskOptions } from "./runtime/stream-task.js";
export { runWorker } from "./dsl/run-worker.js";
export {
  Worker,
  type CommitEvent,
  type RestoreProgressEvent,
  type WorkerMetrics,
  type TaskMetrics,
  type TaskRestoredEvent,
  type WarnFields,
  type WorkerOptions,
  type WorkerState,
} from "./runtime/worker.js";
export type { QueryServerOptions } from "./runtime/query-server.js";
export {
  queryClient,
  type KeyValueEntry,
  type KeyValueStoreQuery,
  type QueryClient,
  type QueryClientOptions,
  type StoreQueryOf,
  type WindowedEntry,
  type WindowedStoreQuery,
} from "./query/query-client.js";
export {
  RoutedQueries,
  type RoutedEntry,
  type RoutedQueriesOptions,
  type RoutedResult,
} from "./query/routed-queries.js";
export { querySecretFromEnv } from "./query/query-secret.js";
export {
  QUERY_ENDPOINTS_TOPIC,
  QUERY_ENDPOINT_INTERVAL_MS,
  type QueryEndpoint,
} from "./query/query-endpoint.js";
export { readQueryEndpoints } from "./query/endpoint-directory.js";
export type {
  KeyParam,
  QueryAnswer,
  QueryFailure,
  QueryOp,
  QueryRequest,
  WireEntry,
} from "./query/query-protocol.js";
export { DeadLetterHeaders, type FailureStage } from "./runtime/dead-letter.js";
export { Topology, SubTopology } from "./topology/topology.js";
export {
  TopologyDescription,
  type NodeDescription,
  type GlobalStoreDescription,
  type StoreDescription,
  type SubtopologyDescription,
} from "./topology/topology-description.js";
export {
  DEPLOYED_TOPOLOGY_VERSION,
  deployedTopology,
  type DeployedRepartitionTopic,
  type DeployedStore,
  type DeployedTopology,
} from "./topology/deployed-topology.js";
export {
  shadowTopicName,
  versionedApp,
  versionedApplicationId,
  type VersionOutputs,
} from "./topology/versioned-app.js";
export type { InputLimit } from "./runtime/input-fence.js";
export {
  formatPlan,
  planDeploy,
  type ChangeVerdict,
  type DeployPlan,
  type PlannedChange,
} from "./topology/deploy-plan.js";
export type {
  ConsumedRecord,
  InternalTopicSpec,
  NodeSpec,
  StoreSpec,
  TimestampExtractor,
} from "./topology/node-spec.js";
export {
  changelogTopicName,
  deadLetterTopicName,
  nameProblem,
  repartitionTopicName,
} from "./topology/internal-names.js";
export { observeTopic, type ObserveTopicOptions, type TopicRecord } from "./rx/observe-topic.js";
export { storeChanges$ } from "./rx/store-changes.js";

// Time, windows and joins.
export type { Joined } from "./dsl/options.js";
export { TimeWindowedKStream } from "./dsl/time-windowed-kstream.js";
export { SessionWindowedKStream } from "./dsl/session-windowed-kstream.js";
export { TimeWindows } from "./windows/time-windows.js";
export { SlidingWindows } from "./windows/sliding-windows.js";
export { SessionWindows } from "./windows/session-windows.js";
export { JoinWindows } from "./windows/join-windows.js";
export { untilWindowCloses, type Suppressed } from "./windows/suppressed.js";
export {
  type Window,
  type Windowed,
  windowedKeyString,
  windowedSerde,
} from "./windows/windowed.js";
export { droppedRecords } from "./windows/dropped-records.js";
export type { JoinType, ValueJoiner } from "./joins/join-type.js";

// The Processor API: custom processors with stores and punctuation.
export { Record } from "./processor/record.js";
export {
  type Cancellable,
  PunctuationType,
  type Punctuator,
} from "./processor/punctuation-type.js";
export type {
  FixedKeyProcessor,
  FixedKeyProcessorSupplier,
  Processor,
  ProcessorSupplier,
} from "./processor/processor.js";
export type { ProcessorContext } from "./processor/processor-context.js";
// The stores processors see are @tributary/state's (re-exported so a topology file needs
// only @tributary/streams): the Processor* views, distinct from the state package's own
// KeyValueStore/WindowStore/SessionStore (the typed stores underneath).
export {
  InMemoryKeyValueStore,
  type ObservableKeyValueStore,
  type ProcessorKeyValueStore,
  type ProcessorSessionStore,
  type ProcessorStateStore,
  type ProcessorWindowStore,
  type ReadableSessionStore,
  type ReadableWindowStore,
  type ReadOnlyKeyValueStore,
  type SessionEntry,
  type StateStore,
  type StoreChange,
  type StoreChangeListener,
  type WindowEntry,
} from "@tributary/state";
export {
  type KeyValueStoreSupplier,
  type SessionStoreSupplier,
  StoreBuilder,
  type StoreSupplier,
  type WindowStoreSupplier,
} from "./processor/store-builder.js";
export { Stores } from "./processor/stores.js";
