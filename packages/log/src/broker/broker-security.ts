import { InvalidArgumentError } from "../errors.js";
import { Authorizer } from "../security/authorizer.js";
import { SCRAM_MECHANISM, ScramServer } from "../security/scram.js";
import { SecurityStore } from "../security/security-store.js";
import { ApiKey } from "./protocol.js";
import type { RequestHandler } from "./request-dispatch.js";

/** The principal of a connection that did not log in. */
export const ANONYMOUS = "User:ANONYMOUS";

export interface BrokerSecurityOptions {
  dataDir: string;
  /** Principals never denied, e.g. ["User:admin"]. */
  superUsers?: readonly string[];
}

/**
 * The broker's security, when enabled (`tributary broker --acls`): the users and ACLs of
 * the data directory's security.json (SecurityStore), the Authorizer over them, SCRAM
 * exchanges for logins, and the handlers of the security admin requests. Without it the
 * broker authorizes nothing, as before (loopback, optional shared token).
 */
export class BrokerSecurity {
  readonly store: SecurityStore;
  readonly authorizer: Authorizer;
  readonly superUsers: ReadonlySet<string>;

  constructor(options: BrokerSecurityOptions) {
    for (const p of options.superUsers ?? []) {
      if (!/^User:[^\s,:=*]{1,256}$/.test(p)) {
        throw new InvalidArgumentError(`super-user '${p}': expected User:<name>`);
      }
    }
    this.superUsers = new Set(options.superUsers ?? []);
    this.store = SecurityStore.open(options.dataDir);
    this.authorizer = new Authorizer(() => this.store.acls(), this.superUsers);
  }

  /** A new server side of a SCRAM exchange, or an error naming the mechanisms offered. */
  scram(mechanism: string): ScramServer {
    if (mechanism !== SCRAM_MECHANISM) {
      throw new InvalidArgumentError(
        `mechanism '${mechanism}' is not offered: this broker offers ${SCRAM_MECHANISM}`,
      );
    }
    return new ScramServer((user) => this.store.credential(user));
  }

  /** Handlers of the security admin requests (authorized like any other request). */
  handlers(): ReadonlyMap<number, RequestHandler> {
    const list = (b: Record<string, unknown>, field: string): unknown[] => {
      const v = b[field];
      if (!Array.isArray(v))
        throw new InvalidArgumentError(`request field '${field}' must be an array`);
      return v;
    };
    const str = (b: Record<string, unknown>, field: string): string => {
      const v = b[field];
      if (typeof v !== "string")
        throw new InvalidArgumentError(`request field '${field}' must be a string`);
      return v;
    };
    return new Map<number, RequestHandler>([
      [ApiKey.CreateAcls, async (_s, b) => ({ added: this.store.addAcls(list(b, "acls")) })],
      [ApiKey.DeleteAcls, async (_s, b) => ({ removed: this.store.removeAcls(list(b, "acls")) })],
      [
        ApiKey.DescribeAcls,
        async (_s, b) => {
          const principal = b.principal === undefined ? undefined : str(b, "principal");
          return this.store
            .acls()
            .filter((a) => principal === undefined || a.principal === principal);
        },
      ],
      [
        ApiKey.UpsertUser,
        async (_s, b) => {
          const iterations = b.iterations === undefined ? undefined : Number(b.iterations);
          this.store.upsertUser(str(b, "user"), str(b, "password"), iterations);
          return null;
        },
      ],
      [ApiKey.DeleteUser, async (_s, b) => ({ deleted: this.store.deleteUser(str(b, "user")) })],
      [ApiKey.ListUsers, async () => this.store.users()],
    ]);
  }
}
