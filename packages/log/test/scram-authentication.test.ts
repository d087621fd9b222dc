import { describe, expect, it } from "vitest";
import { AuthenticationError } from "../src/errors.js";
import { ScramClient, ScramServer, makeScramCredential } from "../src/security/scram.js";

// RFC 7677 section 3: user "user", password "pencil".
const VECTOR = {
  cnonce: "rOprNGfwEbeRWgbNEkqO",
  clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
  serverFirst:
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  clientFinal:
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

function login(user: string, password: string, stored: Map<string, string>) {
  const creds = new Map([...stored].map(([u, p]) => [u, makeScramCredential(p)]));
  const server = new ScramServer((u) => creds.get(u));
  const client = new ScramClient(user, password);
  const serverFirst = server.first(client.first());
  const { serverFinal, user: who } = server.final(client.final(serverFirst));
  client.verify(serverFinal);
  return who;
}

describe("SCRAM-SHA-256", () => {
  it("the client's messages and its check of the server equal RFC 7677's test vector", () => {
    const client = new ScramClient("user", "pencil", VECTOR.cnonce);
    expect(client.first()).toBe(VECTOR.clientFirst);
    expect(client.final(VECTOR.serverFirst)).toBe(VECTOR.clientFinal);
    expect(() => client.verify(VECTOR.serverFinal)).not.toThrow();
    expect(() => client.verify("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")).toThrow(
      /server's signature is wrong/,
    );
  });

  it("the server accepts the vector's proof with a credential built from the vector's salt", () => {
    const salt = Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64");
    const credential = makeScramCredential("pencil", 4096, salt);
    const server = new ScramServer((u) => (u === "user" ? credential : undefined));
    const serverFirst = server.first(VECTOR.clientFirst);
    expect(serverFirst).toMatch(/^r=rOprNGfwEbeRWgbNEkqO.+,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096$/);
    const client = new ScramClient("user", "pencil", VECTOR.cnonce);
    client.first();
    const { user, serverFinal } = server.final(client.final(serverFirst));
    expect(user).toBe("user");
    client.verify(serverFinal);
  });

  it("stores no password: the credential holds neither it nor anything that logs in directly", () => {
    const c = makeScramCredential("correct horse battery staple");
    expect(JSON.stringify(c)).not.toContain("horse");
    expect(Object.keys(c).sort()).toEqual([
      "iterations",
      "mechanism",
      "salt",
      "serverKey",
      "storedKey",
    ]);
  });

  it("logs in with the right password, and names the user on a wrong one or an unknown user", () => {
    const stored = new Map([
      ["alice", "s3cret-pass"],
      ["bob,=x", "another-pass"],
    ]);
    expect(login("alice", "s3cret-pass", stored)).toBe("alice");
    expect(login("bob,=x", "another-pass", stored)).toBe("bob,=x");
    expect(() => login("alice", "wrong-pass", stored)).toThrow(AuthenticationError);
    expect(() => login("alice", "wrong-pass", stored)).toThrow(
      /user 'alice': unknown user or wrong password/,
    );
    expect(() => login("mallory", "s3cret-pass", stored)).toThrow(/user 'mallory'/);
  });

  it("an unknown user gets a server-first message like a known one's, so names cannot be probed", () => {
    const creds = new Map([["alice", makeScramCredential("s3cret-pass")]]);
    const server = new ScramServer((u) => creds.get(u));
    const reply = server.first("n,,n=mallory,r=abc");
    expect(reply).toMatch(/^r=abc.+,s=[A-Za-z0-9+/=]+,i=4096$/);
  });

  it("refuses malformed or replayed messages with a named error", () => {
    const server = new ScramServer(() => undefined);
    expect(() => server.first("hello")).toThrow(/malformed client-first/);
    const s2 = new ScramServer(() => makeScramCredential("password1"));
    s2.first("n,,n=a,r=xyz");
    expect(() => s2.final("c=biws,r=other,p=AAAA")).toThrow(/nonce does not match/);
    expect(() => s2.final("c=biws,r=other,p=AAAA")).toThrow(/unexpected SCRAM message/);
  });
});
