import { InvalidArgumentError } from "../errors.js";

/** Kafka's isolation.level for consumers (see ConsumerOptions.isolation). */
export type IsolationLevel = "read_committed" | "read_uncommitted";

/** Checks a user-given isolation level; throws naming the allowed values. */
export function checkIsolation(value: unknown): IsolationLevel {
  if (value === "read_committed" || value === "read_uncommitted") return value;
  throw new InvalidArgumentError(
    `isolation '${String(value)}': expected read_committed or read_uncommitted`,
  );
}
