import path from "node:path";
import { InvalidStoreNameError } from "./errors.js";

/**
 * Where a store lives and what its changelog is called:
 *   directory  <stateDir>/<applicationId>/<taskId>/<storeName>/
 *   changelog  <applicationId>-<storeName>-changelog   (cleanup.policy=compact)
 * Names follow the topic rules ([a-zA-Z0-9._-], 1 to 249 characters, not "." or ".."),
 * so no name can reach outside the state directory and every changelog name is a valid
 * topic name.
 */
const NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function validateStateName(kind: string, name: string): void {
  if (typeof name !== "string" || !NAME.test(name) || name === "." || name === "..") {
    throw new InvalidStoreNameError(
      `${kind} '${String(name)}' is not valid: use 1 to 249 of [a-zA-Z0-9._-], not "." or ".."`,
    );
  }
}

export function storeDirectory(
  stateDir: string,
  applicationId: string,
  taskId: string,
  storeName: string,
): string {
  validateStateName("application id", applicationId);
  validateStateName("task id", taskId);
  validateStateName("store name", storeName);
  return path.join(path.resolve(stateDir), applicationId, taskId, storeName);
}

export function changelogTopicName(applicationId: string, storeName: string): string {
  validateStateName("application id", applicationId);
  validateStateName("store name", storeName);
  const topic = `${applicationId}-${storeName}-changelog`;
  if (topic.length > 249) {
    throw new InvalidStoreNameError(
      `changelog topic '${topic}' would be ${topic.length} characters (at most 249): shorten the application id or the store name`,
    );
  }
  return topic;
}
