import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** PEM files in a directory: a CA and a certificate for 127.0.0.1 that it signed. */
export interface TestCertificates {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * Makes a throwaway CA and a certificate for 127.0.0.1 signed by it (2048-bit RSA, valid
 * two days) in `dir`, with the system's openssl: what a broker's TLS listener needs in
 * the tests and the broker bench.
 */
export function selfSignedCertificate(dir: string): TestCertificates {
  fs.mkdirSync(dir, { recursive: true });
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  const newKey = ["-newkey", "rsa:2048", "-nodes"];
  openssl(
    "req",
    "-x509",
    ...newKey,
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=tributary-test-ca",
  );
  openssl(
    "req",
    ...newKey,
    "-keyout",
    f("broker.key"),
    "-out",
    f("broker.csr"),
    "-subj",
    "/CN=127.0.0.1",
  );
  fs.writeFileSync(f("ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
  openssl(
    "x509",
    "-req",
    "-in",
    f("broker.csr"),
    "-CA",
    f("ca.pem"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-out",
    f("broker.pem"),
    "-days",
    "2",
    "-extfile",
    f("ext.cnf"),
  );
  return { caFile: f("ca.pem"), certFile: f("broker.pem"), keyFile: f("broker.key") };
}
