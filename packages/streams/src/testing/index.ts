// @tributary/streams/testing: run topologies in memory, in tests, without a log.
export { TopologyTestDriver } from "./topology-test-driver.js";
export type { TopologyTestDriverOptions } from "./topology-test-driver-options.js";
export {
  TestInputTopic,
  type TestInputRecord,
  type TestInputTopicOptions,
} from "./test-input-topic.js";
export { TestOutputTopic } from "./test-output-topic.js";
export type { TestRecord } from "./test-record.js";
