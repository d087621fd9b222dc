// The public surface of @tributary/console.
export { startConsole, type ConsoleOptions, type RunningConsole } from "./console-server.js";
export {
  ClusterSampler,
  type ClusterView,
  type GroupView,
  type TopicView,
} from "./cluster-sampler.js";
export {
  AppStatusReader,
  APP_STATUS_TOPIC,
  type AppView,
  type MemberStatus,
} from "./app-status-reader.js";
export {
  TopicBrowser,
  type BrowseResult,
  type BrowsedRecord,
  type SearchQuery,
} from "./topic-browser.js";
export { ConsoleError, type ConsoleErrorCode } from "./errors.js";
