import * as fs from "node:fs";
import {
  type AclBinding,
  type AclOperation,
  ACL_OPERATIONS,
  InvalidArgumentError,
  openSecurityAdmin,
  type SecurityAdmin,
} from "@tributary/log";
import type { Command } from "commander";
import { normalizeBroker, readTokenFile } from "../log-flags.js";
import { printTable } from "../output.js";

interface AdminFlags {
  broker?: string;
  data: string;
  tokenFile?: string;
}

interface AclFlags extends AdminFlags {
  principal?: string;
  operation?: string;
  topic?: string;
  group?: string;
  transactionalId?: string;
  cluster?: boolean;
  prefixed?: boolean;
  deny?: boolean;
}

/**
 * `tributary users add|remove|list` and `tributary acls add|remove|list`: a broker's
 * principals and access rules. They go to the broker serving the data dir (or --broker),
 * logged in with TRIBUTARY_USER/TRIBUTARY_PASSWORD and allowed by ALTER (or DESCRIBE) on
 * the cluster; with no broker running they edit the data dir's security.json directly,
 * which is how the first super-user gets its password.
 */
export function registerSecurityCommands(program: Command): void {
  const users = program.command("users").description("a broker's users (SCRAM-SHA-256)");
  adminOptions(
    users
      .command("add <name>")
      .description("create a user or change its password (read from --password-file or stdin)")
      .option("--password-file <file>", "the password, first line of this file"),
  ).action((name: string, flags: AdminFlags & { passwordFile?: string }) =>
    withAdmin(flags, async (a) => {
      await a.upsertUser(name, readPassword(flags.passwordFile));
      process.stdout.write(`user ${name} saved (principal User:${name})\n`);
    }),
  );
  adminOptions(users.command("remove <name>").description("delete a user")).action(
    (name: string, flags: AdminFlags) =>
      withAdmin(flags, async (a) => {
        const deleted = await a.deleteUser(name);
        process.stdout.write(deleted ? `user ${name} removed\n` : `no user ${name}\n`);
      }),
  );
  adminOptions(users.command("list").description("the users, by name")).action(
    (flags: AdminFlags) =>
      withAdmin(flags, async (a) => {
        for (const u of await a.listUsers()) process.stdout.write(`${u}\n`);
      }),
  );

  const acls = program.command("acls").description("a broker's access control lists");
  aclOptions(acls.command("add").description("allow (or --deny) an operation")).action(
    (flags: AclFlags) =>
      withAdmin(flags, async (a) => {
        const n = await a.addAcls([binding(flags)]);
        process.stdout.write(n === 0 ? "that ACL exists already\n" : "ACL added\n");
      }),
  );
  aclOptions(acls.command("remove").description("remove an ACL, given as it was added")).action(
    (flags: AclFlags) =>
      withAdmin(flags, async (a) => {
        const n = await a.removeAcls([binding(flags)]);
        process.stdout.write(n === 0 ? "no such ACL\n" : "ACL removed\n");
      }),
  );
  adminOptions(
    acls
      .command("list")
      .description("the ACLs, optionally of one principal")
      .option("--principal <User:name>", "only this principal's"),
  ).action((flags: AdminFlags & { principal?: string }) =>
    withAdmin(flags, async (a) => {
      const list = await a.listAcls(flags.principal);
      printTable(
        ["principal", "permission", "operation", "resource", "pattern", "name"],
        list.map((b) => [
          b.principal,
          b.permission,
          b.operation,
          b.resourceType,
          b.patternType,
          b.name,
        ]),
      );
    }),
  );
}

function adminOptions(cmd: Command): Command {
  return cmd
    .option("--broker <address>", "a broker address (tcp://, tls:// or unix:)")
    .option("--data <dir>", "data directory (its broker, or its security.json)", "./.tributary")
    .option("--token-file <file>", "the shared token of a broker started with --token-file");
}

function aclOptions(cmd: Command): Command {
  return adminOptions(
    cmd
      .requiredOption("--principal <User:name>", "who: User:<name>, or User:* for everyone")
      .requiredOption("--operation <op>", `one of ${ACL_OPERATIONS.join(", ")}`)
      .option("--topic <name>", "a topic (or, with --prefixed, every topic starting so)")
      .option("--group <name>", "a consumer group (or prefix)")
      .option(
        "--transactional-id <id>",
        "a transactional producer's id (or prefix): WRITE lets a principal use it",
      )
      .option("--cluster", "the cluster: create topics, manage users and ACLs")
      .option("--prefixed", "the name is a prefix")
      .option("--deny", "deny instead of allow (a deny wins over every allow)"),
  );
}

function binding(flags: AclFlags): AclBinding {
  const targets = [
    flags.topic,
    flags.group,
    flags.transactionalId,
    flags.cluster ? "cluster" : undefined,
  ].filter((t) => t !== undefined);
  if (targets.length !== 1) {
    throw new InvalidArgumentError(
      "give exactly one of --topic NAME, --group NAME, --transactional-id ID or --cluster",
    );
  }
  if (!(ACL_OPERATIONS as readonly string[]).includes(flags.operation!)) {
    throw new InvalidArgumentError(
      `--operation ${flags.operation}: expected one of ${ACL_OPERATIONS.join(", ")}`,
    );
  }
  if (!/^User:(\*|[^\s,:=]+)$/.test(flags.principal!)) {
    throw new InvalidArgumentError(
      `--principal ${flags.principal}: expected User:<name> or User:*`,
    );
  }
  return {
    principal: flags.principal!,
    resourceType:
      flags.topic !== undefined
        ? "topic"
        : flags.group !== undefined
          ? "group"
          : flags.transactionalId !== undefined
            ? "transactional-id"
            : "cluster",
    name: flags.topic ?? flags.group ?? flags.transactionalId ?? "cluster",
    patternType: flags.prefixed ? "prefixed" : "literal",
    operation: flags.operation as AclOperation,
    permission: flags.deny ? "deny" : "allow",
  };
}

function readPassword(file: string | undefined): string {
  let text: string;
  try {
    text = fs.readFileSync(file ?? 0, "utf8");
  } catch (err) {
    throw new InvalidArgumentError(
      `--password-file ${file ?? "(stdin)"}: ${(err as Error).message}`,
    );
  }
  const password = text.split("\n")[0]!.replace(/\r$/, "");
  if (password.length === 0) {
    throw new InvalidArgumentError(
      "the password is empty: put it on the first line of --password-file or stdin",
    );
  }
  return password;
}

async function withAdmin(
  flags: AdminFlags,
  body: (a: SecurityAdmin) => Promise<void>,
): Promise<void> {
  const admin = await openSecurityAdmin({
    broker: flags.broker === undefined ? undefined : normalizeBroker(flags.broker),
    dataDir: flags.data,
    token: flags.tokenFile === undefined ? undefined : readTokenFile(flags.tokenFile),
  });
  try {
    await body(admin);
  } finally {
    await admin.close();
  }
}
