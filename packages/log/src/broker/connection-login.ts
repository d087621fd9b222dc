import { createHash, timingSafeEqual } from "node:crypto";
import { ProtocolError } from "../errors.js";
import type { ScramServer } from "../security/scram.js";
import type { BrokerSecurity } from "./broker-security.js";
import type { Frame } from "./frame-codec.js";
import { ApiKey, PROTOCOL_VERSION, unpackBody } from "./protocol.js";
import { requestBody } from "./request-dispatch.js";

/*
 * The checks of a connection's first requests (ServerConnection calls them): the handshake
 * (api key, protocol version, the broker's token) and a SCRAM login's two steps. Each
 * throws a ProtocolError saying what the client must do; the connection answers it and
 * closes.
 */

/** Checks that `frame` is a handshake of our protocol version with the right token; returns its body. */
export function checkHandshake(
  frame: Frame,
  tokenDigest: Buffer | undefined,
): Record<string, unknown> {
  if (frame.apiKey !== ApiKey.Handshake) {
    throw new ProtocolError(
      "AUTHENTICATION_FAILED",
      `the first request must be a handshake (api key 0), got api key ${frame.apiKey}`,
    );
  }
  const body = requestBody(unpackBody(frame.body));
  if (body.version !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      "UNKNOWN_REQUEST",
      `protocol version ${String(body.version)} is not supported: this broker speaks version ${PROTOCOL_VERSION}`,
    );
  }
  if (tokenDigest !== undefined) {
    const given = typeof body.token === "string" ? body.token : "";
    // Digests have a fixed length, so the comparison time says nothing about the token.
    const digest = createHash("sha256").update(given).digest();
    if (given === "" || !timingSafeEqual(digest, tokenDigest)) {
      throw new ProtocolError(
        "AUTHENTICATION_FAILED",
        given === ""
          ? "this broker requires a token: pass the contents of its --token-file"
          : "wrong token: pass the contents of the broker's --token-file",
      );
    }
  }
  return body;
}

/** A handshake that names a mechanism: the SCRAM exchange it starts, and SCRAM's server-first. */
export function beginLogin(
  security: BrokerSecurity | undefined,
  body: Record<string, unknown>,
): { scram: ScramServer; serverFirst: string } {
  if (security === undefined) {
    throw new ProtocolError(
      "AUTHENTICATION_FAILED",
      "this broker has no users (it runs without --acls): connect without a user name",
    );
  }
  if (typeof body.mechanism !== "string" || typeof body.saslMessage !== "string") {
    throw new ProtocolError("AUTHENTICATION_FAILED", "a login needs a mechanism and a saslMessage");
  }
  const scram = security.scram(body.mechanism);
  return { scram, serverFirst: scram.first(body.saslMessage) };
}

/** SCRAM's client-final in `frame`: checks the proof; the server-final and the user. */
export function finishLogin(
  frame: Frame,
  scram: ScramServer,
): { serverFinal: string; user: string } {
  if (frame.apiKey !== ApiKey.SaslAuthenticate) {
    throw new ProtocolError(
      "AUTHENTICATION_FAILED",
      `a login must finish with SaslAuthenticate (api key ${ApiKey.SaslAuthenticate}), got api key ${frame.apiKey}`,
    );
  }
  const body = requestBody(unpackBody(frame.body));
  if (typeof body.saslMessage !== "string") {
    throw new ProtocolError("AUTHENTICATION_FAILED", "SaslAuthenticate needs a saslMessage");
  }
  return scram.final(body.saslMessage);
}
