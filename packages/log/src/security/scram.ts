import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { saslprep } from "@mongodb-js/saslprep";
import { AuthenticationError } from "../errors.js";

/**
 * SCRAM-SHA-256 (RFC 5802 with RFC 7677's hash), the mechanism Kafka uses for stored
 * passwords. Written here on node:crypto rather than taken from a library: no maintained
 * npm package offers the server side, and the exchange is a few HMACs; passwords go
 * through SASLprep (@mongodb-js/saslprep) as the RFC requires.
 *
 * What the broker stores per principal never lets anyone log in with it:
 *   SaltedPassword := PBKDF2-SHA-256(SASLprep(password), salt, iterations, 32)
 *   ClientKey      := HMAC(SaltedPassword, "Client Key")
 *   StoredKey      := SHA-256(ClientKey)             (stored)
 *   ServerKey      := HMAC(SaltedPassword, "Server Key")  (stored)
 *
 * The exchange, four messages (gs2 header "n,," — no channel binding):
 *   client-first  => "n,,n=" user ",r=" cnonce
 *   server-first  => "r=" cnonce snonce ",s=" base64(salt) ",i=" iterations
 *   client-final  => "c=biws,r=" cnonce snonce ",p=" base64(ClientKey XOR HMAC(StoredKey, AuthMessage))
 *   server-final  => "v=" base64(HMAC(ServerKey, AuthMessage))
 *   AuthMessage   := client-first-bare "," server-first "," client-final-without-proof
 */
export const SCRAM_MECHANISM = "SCRAM-SHA-256";
/** Kafka's minimum, and its default for new credentials. */
export const MIN_ITERATIONS = 4096;
const MAX_ITERATIONS = 1_000_000;

export interface ScramCredential {
  mechanism: typeof SCRAM_MECHANISM;
  iterations: number;
  salt: string;
  storedKey: string;
  serverKey: string;
}

export function makeScramCredential(
  password: string,
  iterations = MIN_ITERATIONS,
  salt: Buffer = randomBytes(24),
): ScramCredential {
  if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw new RangeError(
      `iterations ${iterations}: expected ${MIN_ITERATIONS} to ${MAX_ITERATIONS}`,
    );
  }
  const salted = saltedPassword(password, salt, iterations);
  return {
    mechanism: SCRAM_MECHANISM,
    iterations,
    salt: salt.toString("base64"),
    storedKey: sha256(hmac(salted, "Client Key")).toString("base64"),
    serverKey: hmac(salted, "Server Key").toString("base64"),
  };
}

/**
 * The server side of one exchange. `lookup` returns the stored credential of a user, or
 * undefined; an unknown user still gets a server-first message (with a salt derived from
 * the name) and fails at the proof, so the exchange does not reveal who exists.
 */
export class ScramServer {
  private state: "first" | "final" | "done" = "first";
  private user = "";
  private credential: ScramCredential | undefined;
  private clientFirstBare = "";
  private serverFirst = "";
  private nonce = "";

  constructor(
    private readonly lookup: (user: string) => ScramCredential | undefined,
    private readonly fakeSaltKey: Buffer = randomBytes(32),
  ) {}

  /** client-first → server-first. */
  first(message: string): string {
    this.expect("first");
    const m = /^n,(?:a=[^,]*)?,(n=([^,]*),r=([\x21-\x2b\x2d-\x7e]+)(?:,.*)?)$/.exec(message);
    if (m === null) throw fail("malformed client-first message (expected 'n,,n=<user>,r=<nonce>')");
    this.clientFirstBare = m[1]!;
    this.user = decodeName(m[2]!);
    this.credential = this.lookup(this.user);
    const salt =
      this.credential?.salt ?? hmac(this.fakeSaltKey, this.user).subarray(0, 24).toString("base64");
    const iterations = this.credential?.iterations ?? MIN_ITERATIONS;
    this.nonce = m[3]! + randomBytes(18).toString("base64");
    this.serverFirst = `r=${this.nonce},s=${salt},i=${iterations}`;
    this.state = "final";
    return this.serverFirst;
  }

  /** client-final → server-final and the authenticated user; throws on a wrong proof. */
  final(message: string): { serverFinal: string; user: string } {
    this.expect("final");
    this.state = "done";
    const m = /^(c=([^,]*),r=([^,]*)(?:,.*)?),p=([A-Za-z0-9+/=]+)$/.exec(message);
    if (m === null) throw fail("malformed client-final message");
    if (m[2] !== "biws") throw fail("channel binding is not supported (expected c=biws)");
    if (m[3] !== this.nonce) throw fail("the nonce does not match this exchange");
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${m[1]}`;
    const credential = this.credential;
    const proof = Buffer.from(m[4]!, "base64");
    if (credential === undefined || proof.length !== 32) throw wrongPassword(this.user);
    const storedKey = Buffer.from(credential.storedKey, "base64");
    const clientKey = xor(proof, hmac(storedKey, authMessage));
    if (!timingSafeEqual(sha256(clientKey), storedKey)) throw wrongPassword(this.user);
    const signature = hmac(Buffer.from(credential.serverKey, "base64"), authMessage);
    return { serverFinal: `v=${signature.toString("base64")}`, user: this.user };
  }

  private expect(state: "first" | "final"): void {
    if (this.state !== state) throw fail(`unexpected SCRAM message in state ${this.state}`);
  }
}

/** The client side: first(), then final(serverFirst), then verify(serverFinal). */
export class ScramClient {
  private clientFirstBare = "";
  private serverSignature: Buffer | undefined;

  /** `cnonce` is for tests against the RFC's vectors; leave it random. */
  constructor(
    private readonly user: string,
    private readonly password: string,
    private readonly cnonce = randomBytes(18).toString("base64"),
  ) {}

  first(): string {
    this.clientFirstBare = `n=${encodeName(this.user)},r=${this.cnonce}`;
    return `n,,${this.clientFirstBare}`;
  }

  final(serverFirst: string): string {
    const m = /^r=([^,]+),s=([A-Za-z0-9+/=]+),i=(\d+)(?:,.*)?$/.exec(serverFirst);
    if (m === null) throw fail("malformed server-first message");
    const nonce = m[1]!;
    const iterations = Number(m[3]);
    if (!nonce.startsWith(this.cnonce)) throw fail("the server's nonce does not extend ours");
    if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
      throw fail(`the server asked for ${iterations} iterations`);
    }
    const salted = saltedPassword(this.password, Buffer.from(m[2]!, "base64"), iterations);
    const clientKey = hmac(salted, "Client Key");
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const proof = xor(clientKey, hmac(sha256(clientKey), authMessage));
    this.serverSignature = hmac(hmac(salted, "Server Key"), authMessage);
    return `${withoutProof},p=${proof.toString("base64")}`;
  }

  /** Proves the server knew the credential too (mutual authentication). */
  verify(serverFinal: string): void {
    const m = /^v=([A-Za-z0-9+/=]+)$/.exec(serverFinal);
    const got = m === null ? Buffer.alloc(0) : Buffer.from(m[1]!, "base64");
    if (
      this.serverSignature === undefined ||
      got.length !== this.serverSignature.length ||
      !timingSafeEqual(got, this.serverSignature)
    ) {
      throw fail("the server's signature is wrong: it does not hold this user's credential");
    }
  }
}

function saltedPassword(password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(saslprep(password), salt, iterations, 32, "sha256");
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac("sha256", key).update(text).digest();
}

function sha256(data: Buffer): Buffer {
  return createHash("sha256").update(data).digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** RFC 5802 saslname: ',' and '=' are escaped as =2C and =3D. */
function encodeName(user: string): string {
  return saslprep(user).replace(/=/g, "=3D").replace(/,/g, "=2C");
}

function decodeName(raw: string): string {
  if (/=(?!2C|3D)/.test(raw)) throw fail("malformed user name escape (only =2C and =3D)");
  return raw.replace(/=2C/g, ",").replace(/=3D/g, "=");
}

function fail(why: string): AuthenticationError {
  return new AuthenticationError(`SCRAM-SHA-256: ${why}`);
}

function wrongPassword(user: string): AuthenticationError {
  return new AuthenticationError(
    `authentication failed for user '${user}': unknown user or wrong password`,
  );
}
