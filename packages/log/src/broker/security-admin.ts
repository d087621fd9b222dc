import fs from "node:fs";
import { DirLock } from "../storage/dir-lock.js";
import type { AclBinding } from "../security/acl.js";
import { clientCredentials } from "../security/client-credentials.js";
import { SecurityStore } from "../security/security-store.js";
import { type BrokerAddress, parseBrokerAddress } from "./broker-address.js";
import { findRunningBroker } from "./broker-info.js";
import { ClientConnection } from "./client-connection.js";
import { DEFAULT_MAX_FRAME_BYTES } from "./frame-codec.js";
import { ApiKey } from "./protocol.js";

/** Managing a broker's users and ACLs (`tributary users|acls`). */
export interface SecurityAdmin {
  addAcls(bindings: readonly AclBinding[]): Promise<number>;
  removeAcls(bindings: readonly AclBinding[]): Promise<number>;
  listAcls(principal?: string): Promise<AclBinding[]>;
  upsertUser(user: string, password: string): Promise<void>;
  deleteUser(user: string): Promise<boolean>;
  listUsers(): Promise<string[]>;
  close(): Promise<void>;
}

const TIMEOUT_MS = 30_000;

/**
 * Over the wire when a broker runs (the given one, or the one serving the data dir),
 * logged in with the environment's credentials and authorized like any request (ALTER or
 * DESCRIBE on the cluster); else straight on the data dir's security.json, holding the
 * dir's lock so no broker starts meanwhile: how the first super-user is created.
 */
export async function openSecurityAdmin(options: {
  broker?: string;
  dataDir: string;
  token?: string;
}): Promise<SecurityAdmin> {
  const address = options.broker ?? findRunningBroker(options.dataDir)?.address;
  if (address !== undefined) return remote(parseBrokerAddress(address), options.token);
  return local(options.dataDir);
}

async function remote(address: BrokerAddress, token: string | undefined): Promise<SecurityAdmin> {
  const conn = await ClientConnection.open(address, {
    token,
    clientId: "tributary-security-admin",
    maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
    connectTimeoutMs: 10_000,
    ...clientCredentials(),
  });
  const call = (api: number, body: unknown) => conn.request(api, body, TIMEOUT_MS);
  return {
    addAcls: async (acls) => ((await call(ApiKey.CreateAcls, { acls })) as { added: number }).added,
    removeAcls: async (acls) =>
      ((await call(ApiKey.DeleteAcls, { acls })) as { removed: number }).removed,
    listAcls: async (principal) =>
      (await call(
        ApiKey.DescribeAcls,
        principal === undefined ? {} : { principal },
      )) as AclBinding[],
    upsertUser: async (user, password) => {
      await call(ApiKey.UpsertUser, { user, password });
    },
    deleteUser: async (user) =>
      ((await call(ApiKey.DeleteUser, { user })) as { deleted: boolean }).deleted,
    listUsers: async () => (await call(ApiKey.ListUsers, {})) as string[],
    close: async () => conn.close(),
  };
}

function local(dataDir: string): SecurityAdmin {
  fs.mkdirSync(dataDir, { recursive: true });
  const lock = DirLock.acquire(dataDir);
  let store: SecurityStore;
  try {
    store = SecurityStore.open(dataDir);
  } catch (err) {
    lock.release();
    throw err;
  }
  return {
    addAcls: async (acls) => store.addAcls(acls),
    removeAcls: async (acls) => store.removeAcls(acls),
    listAcls: async (principal) =>
      store.acls().filter((a) => principal === undefined || a.principal === principal),
    upsertUser: async (user, password) => store.upsertUser(user, password),
    deleteUser: async (user) => store.deleteUser(user),
    listUsers: async () => store.users(),
    close: async () => lock.release(),
  };
}
