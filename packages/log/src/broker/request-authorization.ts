import { AuthorizationError } from "../errors.js";
import type { GroupOverview } from "../client/log-client.js";
import type { AclOperation, ResourceType } from "../security/acl.js";
import { CLUSTER_RESOURCE } from "../security/acl.js";
import type { Authorizer } from "../security/authorizer.js";
import { ApiKey } from "./protocol.js";

/**
 * Which permissions each request needs, after Kafka's mapping of its APIs to ACL
 * operations. A request is checked before it reaches the log, so a refused produce
 * changes nothing; list requests are filtered instead (a principal sees the topics and
 * groups it may describe, as in Kafka).
 */
type Need = [AclOperation, ResourceType, string];
type Body = Record<string, unknown>;

const topicOf = (b: Record<string, unknown>, field = "topic") => String(b[field]);
const topicsOf = (b: Record<string, unknown>): string[] =>
  Array.isArray(b.topics) ? b.topics.map(String) : [];
const cluster: Need[] = [];
const txnIdOf = (b: Body) => String(b.transactionalId);

const NEEDS = new Map<number, (b: Body) => Need[]>([
  [ApiKey.CreateTopic, (b) => [["create", "topic", topicOf(b, "name")]]],
  [ApiKey.DeleteTopic, (b) => [["delete", "topic", topicOf(b, "name")]]],
  [ApiKey.ListTopics, () => cluster],
  [ApiKey.DescribeTopic, (b) => [["describe", "topic", topicOf(b, "name")]]],
  [ApiKey.PartitionCount, (b) => [["describe", "topic", topicOf(b)]]],
  [ApiKey.ListOffsets, (b) => [["describe", "topic", topicOf(b)]]],
  [ApiKey.Produce, (b) => [["write", "topic", topicOf(b)]]],
  // An idempotent id alone writes nothing; each produce that uses it is checked for write.
  // A transactional id is a resource of its own (Kafka's TransactionalId): using it, which
  // fences its other instances, needs WRITE on it; each produce is checked for the topic.
  [
    ApiKey.InitProducerId,
    (b) =>
      b.transactionalId === undefined ? cluster : [["write", "transactional-id", txnIdOf(b)]],
  ],
  [
    ApiKey.AddPartitionsToTxn,
    (b) => [
      ["write", "transactional-id", txnIdOf(b)],
      ...(Array.isArray(b.partitions) ? b.partitions : []).map(
        (p: unknown) => ["write", "topic", String((p as { topic?: unknown }).topic)] as Need,
      ),
    ],
  ],
  [
    ApiKey.TxnOffsetCommit,
    (b) => [
      ["write", "transactional-id", txnIdOf(b)],
      ["read", "group", String(b.groupId)],
      ...(Array.isArray(b.offsets) ? b.offsets : []).map(
        (o: unknown) => ["read", "topic", String((o as { topic?: unknown }).topic)] as Need,
      ),
    ],
  ],
  [ApiKey.EndTxn, (b) => [["write", "transactional-id", txnIdOf(b)]]],
  [
    ApiKey.Fetch,
    (b) =>
      (Array.isArray(b.requests) ? b.requests : []).map(
        (r: unknown) => ["read", "topic", String((r as { topic?: unknown }).topic)] as Need,
      ),
  ],
  [
    ApiKey.JoinGroup,
    (b) => [
      ["read", "group", String(b.groupId)],
      ...topicsOf(b).map((t) => ["describe", "topic", t] as Need),
    ],
  ],
  [ApiKey.Heartbeat, (b) => [["read", "group", String(b.groupId)]]],
  [ApiKey.LeaveGroup, (b) => [["read", "group", String(b.groupId)]]],
  [
    ApiKey.CommitOffsets,
    (b) => [
      ["read", "group", String(b.groupId)],
      ...(Array.isArray(b.offsets) ? b.offsets : []).map(
        (o: unknown) => ["read", "topic", String((o as { topic?: unknown }).topic)] as Need,
      ),
    ],
  ],
  [ApiKey.FetchOffsets, (b) => [["describe", "group", String(b.groupId)]]],
  [ApiKey.ListGroups, () => cluster],
  [ApiKey.DescribeGroup, (b) => [["describe", "group", String(b.groupId)]]],
  [
    ApiKey.ResetOffsets,
    (b) => [
      ["read", "group", String(b.groupId)],
      ...topicsOf((b.options ?? {}) as Record<string, unknown>).map(
        (t) => ["read", "topic", t] as Need,
      ),
    ],
  ],
  [ApiKey.DeleteGroup, (b) => [["delete", "group", String(b.groupId)]]],
  [ApiKey.CreateAcls, () => [["alter", "cluster", CLUSTER_RESOURCE]]],
  [ApiKey.DeleteAcls, () => [["alter", "cluster", CLUSTER_RESOURCE]]],
  [ApiKey.DescribeAcls, () => [["describe", "cluster", CLUSTER_RESOURCE]]],
  [ApiKey.UpsertUser, () => [["alter", "cluster", CLUSTER_RESOURCE]]],
  [ApiKey.DeleteUser, () => [["alter", "cluster", CLUSTER_RESOURCE]]],
  [ApiKey.ListUsers, () => [["describe", "cluster", CLUSTER_RESOURCE]]],
]);

/** Throws AuthorizationError for the first permission the principal lacks. */
export function authorizeRequest(
  authorizer: Authorizer,
  principal: string,
  apiKey: number,
  body: Record<string, unknown>,
): void {
  const needs = NEEDS.get(apiKey);
  if (needs === undefined) {
    // Every api key must be listed: an unlisted one is refused rather than let through.
    throw new AuthorizationError(principal, "use", "cluster", `api ${apiKey}`);
  }
  for (const [op, type, name] of needs(body)) authorizer.check(principal, op, type, name);
}

/** Leaves out of a list answer what the principal may not describe. */
export function filterListAnswer(
  authorizer: Authorizer,
  principal: string,
  apiKey: number,
  answer: unknown,
): unknown {
  if (apiKey === ApiKey.ListTopics && Array.isArray(answer)) {
    return (answer as string[]).filter((t) =>
      authorizer.allowed(principal, "describe", "topic", t),
    );
  }
  if (apiKey === ApiKey.ListGroups && Array.isArray(answer)) {
    return (answer as GroupOverview[]).filter((g) =>
      authorizer.allowed(principal, "describe", "group", g.groupId),
    );
  }
  return answer;
}
