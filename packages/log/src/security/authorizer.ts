import { AuthorizationError } from "../errors.js";
import { type AclBinding, type AclOperation, type ResourceType, bindingMatches } from "./acl.js";

/**
 * Decides whether a principal may perform an operation on a resource, by Kafka's rules:
 * - a super-user may do anything;
 * - a matching DENY wins over any ALLOW;
 * - ALLOW `all` covers every operation, and an allowed read, write, delete or alter
 *   implies describe (whoever may read a topic may see that it exists);
 * - nothing matching means denied.
 * Principals are "User:<name>"; a binding for "User:*" matches every user.
 */
export class Authorizer {
  constructor(
    private readonly bindings: () => readonly AclBinding[],
    private readonly superUsers: ReadonlySet<string>,
  ) {}

  allowed(principal: string, operation: AclOperation, type: ResourceType, name: string): boolean {
    if (this.superUsers.has(principal)) return true;
    let allow = false;
    for (const b of this.bindings()) {
      if (b.principal !== principal && b.principal !== "User:*") continue;
      if (!bindingMatches(b, type, name)) continue;
      if (b.permission === "deny") {
        if (b.operation === "all" || b.operation === operation) return false;
        continue;
      }
      if (b.operation === "all" || b.operation === operation) allow = true;
      else if (operation === "describe" && IMPLY_DESCRIBE.has(b.operation)) allow = true;
    }
    return allow;
  }

  /** Throws AuthorizationError naming the principal, operation and resource. */
  check(principal: string, operation: AclOperation, type: ResourceType, name: string): void {
    if (!this.allowed(principal, operation, type, name)) {
      throw new AuthorizationError(principal, operation, type, name);
    }
  }
}

const IMPLY_DESCRIBE: ReadonlySet<AclOperation> = new Set(["read", "write", "delete", "alter"]);
