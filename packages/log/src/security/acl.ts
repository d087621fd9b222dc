import { InvalidArgumentError } from "../errors.js";

/**
 * Access control lists, as Kafka's: a binding allows or denies one principal one operation
 * on the resources whose name equals (literal) or starts with (prefixed) a pattern.
 *
 *   AclBinding => { principal: "User:<name>" | "User:*", resourceType: topic|group|cluster|transactional-id,
 *                   name: string ("*" as a literal matches every name), patternType:
 *                   literal|prefixed, operation: read|write|create|delete|describe|alter|all,
 *                   permission: allow|deny }
 */
export const ACL_OPERATIONS = [
  "read",
  "write",
  "create",
  "delete",
  "describe",
  "alter",
  "all",
] as const;
/**
 * "transactional-id" is Kafka's TransactionalId resource: WRITE on it lets a principal use
 * that transactional id (init, add partitions, send offsets, commit or abort), DESCRIBE
 * lets it see one.
 */
export const RESOURCE_TYPES = ["topic", "group", "cluster", "transactional-id"] as const;
export const PATTERN_TYPES = ["literal", "prefixed"] as const;
export const PERMISSIONS = ["allow", "deny"] as const;

export type AclOperation = (typeof ACL_OPERATIONS)[number];
export type ResourceType = (typeof RESOURCE_TYPES)[number];
export type PatternType = (typeof PATTERN_TYPES)[number];
export type Permission = (typeof PERMISSIONS)[number];

/** The one cluster resource's name, for create-topic and the admin operations. */
export const CLUSTER_RESOURCE = "cluster";

export interface AclBinding {
  principal: string;
  resourceType: ResourceType;
  name: string;
  patternType: PatternType;
  operation: AclOperation;
  permission: Permission;
}

const PRINCIPAL = /^User:(\*|[^\s,:=]{1,256})$/;

/** Checks every field of a binding from outside (CLI flags, the wire), naming the bad one. */
export function validateAclBinding(raw: unknown): AclBinding {
  if (typeof raw !== "object" || raw === null) {
    throw new InvalidArgumentError("ACL: expected an object with principal, resourceType, …");
  }
  const b = raw as Record<string, unknown>;
  const oneOf = <T extends string>(field: string, allowed: readonly T[]): T => {
    const v = b[field];
    if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
      throw new InvalidArgumentError(
        `ACL ${field} ${JSON.stringify(v)}: expected one of ${allowed.join(", ")}`,
      );
    }
    return v as T;
  };
  if (typeof b.principal !== "string" || !PRINCIPAL.test(b.principal)) {
    throw new InvalidArgumentError(
      `ACL principal ${JSON.stringify(b.principal)}: expected User:<name> or User:*`,
    );
  }
  const resourceType = oneOf("resourceType", RESOURCE_TYPES);
  if (typeof b.name !== "string" || b.name.length === 0 || b.name.length > 249) {
    throw new InvalidArgumentError(
      `ACL name ${JSON.stringify(b.name)}: expected a resource name or prefix of 1 to 249 characters`,
    );
  }
  if (resourceType === "cluster" && b.name !== CLUSTER_RESOURCE) {
    throw new InvalidArgumentError(`ACL name for the cluster must be '${CLUSTER_RESOURCE}'`);
  }
  return {
    principal: b.principal,
    resourceType,
    name: b.name,
    patternType: oneOf("patternType", PATTERN_TYPES),
    operation: oneOf("operation", ACL_OPERATIONS),
    permission: oneOf("permission", PERMISSIONS),
  };
}

export function sameBinding(a: AclBinding, b: AclBinding): boolean {
  return (
    a.principal === b.principal &&
    a.resourceType === b.resourceType &&
    a.name === b.name &&
    a.patternType === b.patternType &&
    a.operation === b.operation &&
    a.permission === b.permission
  );
}

/** Does the binding's pattern cover this resource? */
export function bindingMatches(b: AclBinding, type: ResourceType, name: string): boolean {
  if (b.resourceType !== type) return false;
  if (b.patternType === "prefixed") return name.startsWith(b.name);
  return b.name === "*" || b.name === name;
}
