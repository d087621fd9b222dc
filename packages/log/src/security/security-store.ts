import fs from "node:fs";
import path from "node:path";
import { writeFileDurably } from "../storage/durable-file.js";
import { CorruptRecordError, InvalidArgumentError } from "../errors.js";
import { type AclBinding, sameBinding, validateAclBinding } from "./acl.js";
import { MIN_ITERATIONS, type ScramCredential, makeScramCredential } from "./scram.js";

/**
 * The broker's principals and ACLs, in one file of the data directory:
 *
 *   security.json => { version: 1, users: { <name>: ScramCredential }, acls: AclBinding[] }
 *
 * Passwords are never stored, only SCRAM's salted keys (scram.ts). Every change rewrites
 * the file durably (temp file, fsync, rename, fsync of the directory), so a crash leaves
 * the old or the new set, and the file is read with every field checked: a damaged file
 * stops the broker with its path rather than starting with no ACLs. It is small (users and
 * bindings, not data), so keeping it whole in memory is fine.
 */
export const SECURITY_FILE = "security.json";

interface SecurityFile {
  version: 1;
  users: Record<string, ScramCredential>;
  acls: AclBinding[];
}

const USER_NAME = /^[^\s,:=]{1,256}$/;

export class SecurityStore {
  private data: SecurityFile;

  private constructor(private readonly file: string) {
    this.data = read(file);
  }

  static open(dataDir: string): SecurityStore {
    return new SecurityStore(path.join(path.resolve(dataDir), SECURITY_FILE));
  }

  credential(user: string): ScramCredential | undefined {
    return Object.hasOwn(this.data.users, user) ? this.data.users[user] : undefined;
  }

  users(): string[] {
    return Object.keys(this.data.users).sort();
  }

  /** Creates or replaces a user's credential; the password itself is not kept. */
  upsertUser(user: string, password: string, iterations = MIN_ITERATIONS): void {
    if (!USER_NAME.test(user)) {
      throw new InvalidArgumentError(
        `user name ${JSON.stringify(user)}: 1 to 256 characters, no spaces, ',', ':' or '='`,
      );
    }
    if (password.length < 8) {
      throw new InvalidArgumentError(
        `the password of user '${user}' must have at least 8 characters`,
      );
    }
    this.write({
      ...this.data,
      users: { ...this.data.users, [user]: makeScramCredential(password, iterations) },
    });
  }

  /** Returns false when there was no such user. */
  deleteUser(user: string): boolean {
    if (this.credential(user) === undefined) return false;
    const users = { ...this.data.users };
    delete users[user];
    this.write({ ...this.data, users });
    return true;
  }

  acls(): readonly AclBinding[] {
    return this.data.acls;
  }

  /** Adds the bindings not already present; returns how many were new. */
  addAcls(bindings: readonly unknown[]): number {
    const next = [...this.data.acls];
    for (const raw of bindings) {
      const b = validateAclBinding(raw);
      if (!next.some((x) => sameBinding(x, b))) next.push(b);
    }
    const added = next.length - this.data.acls.length;
    if (added > 0) this.write({ ...this.data, acls: next });
    return added;
  }

  /** Removes the bindings equal to one of the given; returns how many were removed. */
  removeAcls(bindings: readonly unknown[]): number {
    const gone = bindings.map(validateAclBinding);
    const next = this.data.acls.filter((x) => !gone.some((b) => sameBinding(x, b)));
    const removed = this.data.acls.length - next.length;
    if (removed > 0) this.write({ ...this.data, acls: next });
    return removed;
  }

  private write(next: SecurityFile): void {
    writeFileDurably(this.file, `${JSON.stringify(next, null, 2)}\n`);
    this.data = next;
  }
}

function read(file: string): SecurityFile {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      return { version: 1, users: {}, acls: [] };
    throw err;
  }
  const corrupt = (why: string) =>
    new CorruptRecordError(
      `${file} is damaged (${why}): restore it from a backup, or move it aside and add the users and ACLs again`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw corrupt((err as Error).message);
  }
  const f = parsed as Partial<SecurityFile>;
  if (typeof f !== "object" || f === null || f.version !== 1) throw corrupt("no version 1");
  if (typeof f.users !== "object" || f.users === null || !Array.isArray(f.acls)) {
    throw corrupt("users or acls missing");
  }
  for (const [user, c] of Object.entries(f.users)) {
    if (
      c?.mechanism !== "SCRAM-SHA-256" ||
      typeof c.salt !== "string" ||
      typeof c.storedKey !== "string" ||
      typeof c.serverKey !== "string" ||
      !Number.isSafeInteger(c.iterations)
    ) {
      throw corrupt(`user '${user}' has no valid credential`);
    }
  }
  try {
    return { version: 1, users: f.users, acls: f.acls.map(validateAclBinding) };
  } catch (err) {
    throw corrupt((err as Error).message);
  }
}
