// @tributary/log/testing: what other packages' tests use to test against the log. It
// imports vitest (the LogClient contract suite is a set of vitest tests), so it is a
// separate entry: nothing in the main entry imports it.
export { describeLogClientContract, type ContractTarget } from "./log-client-contract.js";
export {
  ChildProc,
  LOG_PACKAGE_DIR,
  spawnTs,
  spawnTsWithFdLimit,
  tempDir,
} from "./child-proc.js";
export { eventually } from "./eventually.js";
export {
  BROKER_PROCESS_SCRIPT,
  startBrokerProcess,
  type BrokerProc,
} from "./start-broker-process.js";
export { stoppedPollerLeavesGroup } from "./consumer-poll-timeout.js";
export { selfSignedCertificate, type TestCertificates } from "./self-signed-certificate.js";
