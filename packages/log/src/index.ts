// The public surface of @tributary/log. Everything not listed here is internal.
export * from "./errors.js";
export * from "./record.js";
export * from "./record-batch.js";
export * from "./topic-config.js";
export type * from "./log-client.js";
export type * from "./log-service.js";
