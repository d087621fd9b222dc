import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AuthorizationError, CorruptRecordError, InvalidArgumentError } from "../src/errors.js";
import type { AclBinding } from "../src/security/acl.js";
import { Authorizer } from "../src/security/authorizer.js";
import { SECURITY_FILE, SecurityStore } from "../src/security/security-store.js";

const dirs: string[] = [];
function dataDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-acl-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const allow = (
  principal: string,
  operation: AclBinding["operation"],
  name: string,
  patternType: AclBinding["patternType"] = "literal",
  resourceType: AclBinding["resourceType"] = "topic",
): AclBinding => ({ principal, resourceType, name, patternType, operation, permission: "allow" });

describe("ACL authorization", () => {
  it("allows only what a binding grants: literal names, prefixes, the wildcard user", () => {
    const acls = [
      allow("User:alice", "write", "orders"),
      allow("User:alice", "read", "payments.", "prefixed"),
      allow("User:*", "read", "public"),
      allow("User:bob", "read", "billing-", "prefixed", "group"),
    ];
    const a = new Authorizer(() => acls, new Set());
    expect(a.allowed("User:alice", "write", "topic", "orders")).toBe(true);
    expect(a.allowed("User:alice", "write", "topic", "orders2")).toBe(false);
    expect(a.allowed("User:alice", "read", "topic", "orders")).toBe(false);
    expect(a.allowed("User:alice", "read", "topic", "payments.eu")).toBe(true);
    expect(a.allowed("User:alice", "read", "topic", "payments")).toBe(false);
    expect(a.allowed("User:carol", "read", "topic", "public")).toBe(true);
    expect(a.allowed("User:carol", "write", "topic", "public")).toBe(false);
    expect(a.allowed("User:bob", "read", "group", "billing-app")).toBe(true);
    expect(a.allowed("User:bob", "read", "topic", "billing-app")).toBe(false);
  });

  it("read, write, delete and alter imply describe; all covers every operation", () => {
    const a = new Authorizer(
      () => [allow("User:alice", "write", "orders"), allow("User:ops", "all", "*")],
      new Set(),
    );
    expect(a.allowed("User:alice", "describe", "topic", "orders")).toBe(true);
    expect(a.allowed("User:alice", "delete", "topic", "orders")).toBe(false);
    for (const op of ["read", "write", "create", "delete", "describe", "alter"] as const) {
      expect(a.allowed("User:ops", op, "topic", "anything")).toBe(true);
    }
  });

  it("a deny wins over every allow; a super-user is never denied", () => {
    const acls: AclBinding[] = [
      allow("User:*", "all", "*"),
      { ...allow("User:mallory", "write", "orders"), permission: "deny" },
    ];
    const a = new Authorizer(() => acls, new Set(["User:admin"]));
    expect(a.allowed("User:mallory", "write", "topic", "orders")).toBe(false);
    expect(a.allowed("User:mallory", "read", "topic", "orders")).toBe(true);
    expect(a.allowed("User:admin", "delete", "cluster", "cluster")).toBe(true);
    expect(new Authorizer(() => [], new Set()).allowed("User:x", "read", "topic", "t")).toBe(false);
  });

  it("a denial names the principal, the operation and the resource", () => {
    const a = new Authorizer(() => [], new Set());
    const err = (() => {
      try {
        a.check("User:alice", "write", "topic", "orders");
      } catch (e) {
        return e as AuthorizationError;
      }
    })();
    expect(err).toBeInstanceOf(AuthorizationError);
    expect(err!.code).toBe("AUTHORIZATION_FAILED");
    expect(err!.message).toMatch(/principal 'User:alice' may not WRITE topic 'orders'/);
  });
});

describe("the security store", () => {
  it("keeps users and ACLs across a reopen, with passwords stored only as SCRAM keys", () => {
    const dir = dataDir();
    const s = SecurityStore.open(dir);
    s.upsertUser("alice", "s3cret-pass");
    expect(
      s.addAcls([allow("User:alice", "write", "orders"), allow("User:alice", "write", "orders")]),
    ).toBe(1);
    const again = SecurityStore.open(dir);
    expect(again.users()).toEqual(["alice"]);
    expect(again.acls()).toEqual([allow("User:alice", "write", "orders")]);
    expect(fs.readFileSync(path.join(dir, SECURITY_FILE), "utf8")).not.toContain("s3cret");
    expect(again.removeAcls([allow("User:alice", "write", "orders")])).toBe(1);
    expect(again.deleteUser("alice")).toBe(true);
    expect(again.deleteUser("alice")).toBe(false);
    expect(SecurityStore.open(dir).acls()).toEqual([]);
  });

  it("refuses bad bindings and users, naming the field", () => {
    const s = SecurityStore.open(dataDir());
    expect(() => s.addAcls([{ ...allow("User:a", "write", "t"), operation: "writ" }])).toThrow(
      /ACL operation "writ": expected one of read, write/,
    );
    expect(() => s.addAcls([{ ...allow("alice", "write", "t") }])).toThrow(/ACL principal "alice"/);
    expect(() => s.upsertUser("a b", "longenough")).toThrow(InvalidArgumentError);
    expect(() => s.upsertUser("alice", "short")).toThrow(/at least 8 characters/);
  });

  it("a damaged file stops the store with its path instead of opening with no ACLs", () => {
    const dir = dataDir();
    SecurityStore.open(dir).addAcls([allow("User:alice", "write", "orders")]);
    const file = path.join(dir, SECURITY_FILE);
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").slice(0, 40));
    expect(() => SecurityStore.open(dir)).toThrow(CorruptRecordError);
    expect(() => SecurityStore.open(dir)).toThrow(new RegExp(`${SECURITY_FILE} is damaged`));
  });
});
