import { InvalidNameError } from "./errors.js";

/**
 * Topic naming rules, Kafka's: 1 to 249 characters from `[a-zA-Z0-9._-]`, and neither "."
 * nor "..". A topic name becomes a directory name (`<data>/<topic>-<p>/`), so these rules
 * are what keeps a name from reaching outside the data directory: no separator, no
 * traversal, no NUL, nothing a file system could reinterpret. (Kafka caps at 249 so that
 * `<topic>-<partition>` plus its `-delete` suffix stays under 255 bytes.)
 */
export const MAX_TOPIC_NAME_LENGTH = 249;

const LEGAL = /^[a-zA-Z0-9._-]+$/;
const ILLEGAL_CHAR = /[^a-zA-Z0-9._-]/;

/** Throws InvalidNameError("INVALID_TOPIC_NAME") naming the broken rule and the name. */
export function validateTopicName(name: string): void {
  if (typeof name !== "string") {
    throw new InvalidNameError(
      "INVALID_TOPIC_NAME",
      `topic name must be a string, got ${name === null ? "null" : typeof name}`,
    );
  }
  if (name.length === 0) {
    throw new InvalidNameError(
      "INVALID_TOPIC_NAME",
      "topic name is empty: give it 1 to 249 characters from [a-zA-Z0-9._-]",
    );
  }
  if (name === "." || name === "..") {
    throw new InvalidNameError(
      "INVALID_TOPIC_NAME",
      `topic name ${quoteName(name)} is not allowed: "." and ".." name directories, not topics`,
    );
  }
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    throw new InvalidNameError(
      "INVALID_TOPIC_NAME",
      `topic name ${quoteName(name.slice(0, 40))}… is ${name.length} characters long: the limit is ${MAX_TOPIC_NAME_LENGTH}`,
    );
  }
  if (!LEGAL.test(name)) {
    const bad = ILLEGAL_CHAR.exec(name)!;
    throw new InvalidNameError(
      "INVALID_TOPIC_NAME",
      `topic name ${quoteName(name)} contains ${quoteName(bad[0])} at position ${bad.index}: only ASCII letters, digits, '.', '_' and '-' are allowed`,
    );
  }
}

/** True when `name` is a legal topic name. */
export function isValidTopicName(name: string): boolean {
  return (
    typeof name === "string" &&
    name.length > 0 &&
    name.length <= MAX_TOPIC_NAME_LENGTH &&
    name !== "." &&
    name !== ".." &&
    LEGAL.test(name)
  );
}

/**
 * Internal topics (consumer offsets, and whatever else the platform keeps for itself)
 * start with "__", as Kafka's `__consumer_offsets`. Listing hides them unless asked.
 */
export function isInternalTopic(name: string): boolean {
  return name.startsWith("__");
}

/**
 * Quotes a name for an error message so that what the user sees is what was sent: control
 * characters, quotes, non-ASCII look-alikes (Cyrillic "а" for Latin "a") and lone
 * surrogates come out as escapes.
 */
export function quoteName(name: string): string {
  let out = "'";
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x27 && c !== 0x5c) out += name[i];
    else if (c === 0x27) out += "\\'";
    else if (c === 0x5c) out += "\\\\";
    else if (c < 0x100) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += `\\u${c.toString(16).padStart(4, "0")}`;
  }
  return `${out}'`;
}
