import fs from "node:fs";
import path from "node:path";
import type { AclBinding } from "../src/security/acl.js";
import { SecurityStore } from "../src/security/security-store.js";
import { selfSignedCertificate } from "../src/testing/self-signed-certificate.js";

/** What the secured run's children need: the broker's data and TLS dirs, the clients' options. */
export interface SecuredBroker {
  dataDir: string;
  tlsDir: string;
  /** JSON for the children's BENCH_CLIENT: SCRAM login as the bench user, the CA to trust. */
  clientEnv: string;
  adminEnv: string;
}

export const BENCH_USER = { username: "bench", password: "bench-secret-1" };
export const ADMIN_USER = { username: "admin", password: "admin-secret-1" };

/**
 * Sets up a broker as a shared platform runs it (`tributary broker --acls --tls-*`): a
 * self-signed CA and a certificate for 127.0.0.1 (openssl), SCRAM users, and the bench
 * user's ACLs (read, write, describe on each topic it uses) among 200 bindings of other
 * teams, so every request really is authorized against a list, not waved through as a
 * super-user's would be.
 */
export function prepareSecuredBroker(dir: string, topics: readonly string[]): SecuredBroker {
  const tlsDir = path.join(dir, "tls");
  const dataDir = path.join(dir, "data");
  fs.mkdirSync(dataDir, { recursive: true });
  const certs = selfSignedCertificate(tlsDir);

  const store = SecurityStore.open(dataDir);
  store.upsertUser(ADMIN_USER.username, ADMIN_USER.password);
  store.upsertUser(BENCH_USER.username, BENCH_USER.password);
  const acls: AclBinding[] = [];
  for (let team = 0; team < 50; team++) {
    for (const operation of ["read", "write", "describe", "create"] as const) {
      acls.push({
        principal: `User:team-${team}`,
        resourceType: "topic",
        name: `team-${team}.`,
        patternType: "prefixed",
        operation,
        permission: "allow",
      });
    }
  }
  for (const name of topics) {
    for (const operation of ["read", "write", "describe"] as const) {
      acls.push({
        principal: `User:${BENCH_USER.username}`,
        resourceType: "topic",
        name,
        patternType: "literal",
        operation,
        permission: "allow",
      });
    }
  }
  store.addAcls(acls);
  const client = (user: typeof BENCH_USER) =>
    JSON.stringify({ sasl: user, tlsCaFile: certs.caFile });
  return { dataDir, tlsDir, clientEnv: client(BENCH_USER), adminEnv: client(ADMIN_USER) };
}
