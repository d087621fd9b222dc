import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  cleanup,
  cli,
  expectOneLineError,
  runCli,
  spawnCli,
  tempDir,
  waitForLine,
} from "./helpers.js";

afterAll(cleanup);

/** Runs a command as a user: the credentials come from the environment, as for workers. */
function asUser<T>(user: string, password: string, body: () => T): T {
  process.env.TRIBUTARY_USER = user;
  process.env.TRIBUTARY_PASSWORD = password;
  try {
    return body();
  } finally {
    delete process.env.TRIBUTARY_USER;
    delete process.env.TRIBUTARY_PASSWORD;
  }
}

describe("tributary users and acls", () => {
  it("bootstrap a super-user offline, then grant a user WRITE on one topic through a broker with --acls", async () => {
    const data = tempDir();
    const secret = path.join(data, "..", `${path.basename(data)}-admin.txt`);
    fs.writeFileSync(secret, "admin-secret-1\n");
    cli(["users", "add", "admin", "--password-file", secret, "--data", data]);
    cli(["users", "add", "alice", "--data", data], { input: "alice-secret-1\n" });
    expect(cli(["users", "list", "--data", data])).toBe("admin\nalice\n");
    expect(fs.readFileSync(path.join(data, "security.json"), "utf8")).not.toContain("secret");

    const broker = spawnCli([
      "broker",
      "--data",
      data,
      "--listen",
      "127.0.0.1:0",
      "--acls",
      "--super-users",
      "User:admin",
    ]);
    await waitForLine(broker, /^broker listening on (\S+)/);

    asUser("admin", "admin-secret-1", () => {
      cli(["topics", "create", "orders", "--partitions", "1", "--data", data]);
      cli([
        "acls",
        "add",
        "--principal",
        "User:alice",
        "--operation",
        "write",
        "--topic",
        "orders",
        "--data",
        data,
      ]);
      cli([
        "acls",
        "add",
        "--principal",
        "User:alice",
        "--operation",
        "read",
        "--topic",
        "orders",
        "--data",
        data,
      ]);
      expect(cli(["acls", "list", "--principal", "User:alice", "--data", data])).toMatch(
        /User:alice\s+allow\s+write\s+topic\s+literal\s+orders/,
      );
      cli([
        "acls",
        "add",
        "--principal",
        "User:alice",
        "--operation",
        "write",
        "--transactional-id",
        "alice-",
        "--prefixed",
        "--data",
        data,
      ]);
      expect(cli(["acls", "list", "--principal", "User:alice", "--data", data])).toMatch(
        /User:alice\s+allow\s+write\s+transactional-id\s+prefixed\s+alice-/,
      );
    });
    asUser("alice", "alice-secret-1", () => {
      cli(["produce", "orders", "--data", data], { input: "first\nsecond\n" });
      const refused = runCli(["topics", "create", "other", "--partitions", "1", "--data", data]);
      expect(refused.status).toBe(1);
      expect(expectOneLineError(refused)).toMatch(
        /principal 'User:alice' may not CREATE topic 'other'/,
      );
      const notAdmin = runCli(["users", "add", "eve", "--data", data], {
        input: "eve-secret-12\n",
      });
      expect(expectOneLineError(notAdmin)).toMatch(/may not ALTER cluster/);
    });
    const wrong = asUser("alice", "wrong-password", () =>
      runCli(["topics", "list", "--data", data]),
    );
    expect(expectOneLineError(wrong)).toMatch(/authentication failed for user 'alice'/);
    const stored = asUser("admin", "admin-secret-1", () =>
      cli(["consume", "orders", "--data", data, "--from-beginning"]),
    );
    expect(stored).toBe("first\nsecond\n");
  });

  it("refuses an ACL without exactly one resource, naming the flags", () => {
    const r = runCli([
      "acls",
      "add",
      "--principal",
      "User:a",
      "--operation",
      "read",
      "--data",
      tempDir(),
    ]);
    expect(r.status).toBe(2);
    expect(expectOneLineError(r)).toMatch(
      /exactly one of --topic NAME, --group NAME, --transactional-id ID or --cluster/,
    );
  });
});
