import { InvalidArgumentError, type Serde, Serdes, decodeOrThrow } from "@tributary/log";
import { oneOf } from "./flags.js";

export const SERDE_NAMES = ["string", "json", "msgpack", "bytes"] as const;
export type SerdeName = (typeof SERDE_NAMES)[number];

/**
 * How the command line turns keys and values into record bytes and back, per serde:
 *   string   text as is                      ⇄ UTF-8 bytes
 *   json     JSON text (checked)             ⇄ UTF-8 JSON
 *   msgpack  JSON text, stored as MessagePack ⇄ MessagePack (shown as JSON)
 *   bytes    base64 text                     ⇄ raw bytes
 * In JSON lines a key or value is a JSON value: a string serde takes a string (other
 * values are written as their JSON text), bytes take a base64 string.
 */
export class RecordCodec {
  private readonly serde: Serde<unknown>;

  constructor(
    readonly serdeName: SerdeName,
    private readonly what: "key" | "value",
  ) {
    this.serde =
      serdeName === "string"
        ? (Serdes.string() as Serde<unknown>)
        : serdeName === "json"
          ? Serdes.json()
          : serdeName === "msgpack"
            ? Serdes.msgpack()
            : (Serdes.bytes() as Serde<unknown>);
  }

  static fromFlag(flag: string, raw: string, what: "key" | "value"): RecordCodec {
    return new RecordCodec(oneOf(flag, raw, SERDE_NAMES), what);
  }

  /** A key or value typed as text on one line. */
  fromText(text: string, line: number): Buffer | null {
    switch (this.serdeName) {
      case "string":
        return Buffer.from(text, "utf8");
      case "bytes":
        return Buffer.from(text, "base64");
      default:
        return this.serde.serialize(this.parseJson(text, line));
    }
  }

  /** A key or value given as a JSON value in a JSON line; null stays null (a tombstone). */
  fromJson(value: unknown): Buffer | null {
    if (value === null || value === undefined) return null;
    switch (this.serdeName) {
      case "string":
        return Buffer.from(typeof value === "string" ? value : JSON.stringify(value), "utf8");
      case "bytes":
        if (typeof value !== "string") {
          throw new InvalidArgumentError(
            `a bytes ${this.what} must be a base64 string in JSON lines`,
          );
        }
        return Buffer.from(value, "base64");
      default:
        return this.serde.serialize(value);
    }
  }

  /** The record's key or value as a JSON value (for --format json). */
  toJson(bytes: Buffer | null, where: { topic: string; partition: number; offset: number }) {
    if (bytes === null) return null;
    if (this.serdeName === "bytes") return bytes.toString("base64");
    return this.decode(bytes, where);
  }

  /** The record's key or value as text on a line. */
  toText(bytes: Buffer | null, where: { topic: string; partition: number; offset: number }) {
    if (bytes === null) return "null";
    if (this.serdeName === "bytes") return bytes.toString("base64");
    const v = this.decode(bytes, where);
    return typeof v === "string" && this.serdeName === "string" ? v : JSON.stringify(v);
  }

  private decode(bytes: Buffer, where: { topic: string; partition: number; offset: number }) {
    try {
      return decodeOrThrow(this.serde, bytes, where);
    } catch (err) {
      const other = SERDE_NAMES.filter((n) => n !== this.serdeName).join(", ");
      throw new InvalidArgumentError(
        `${(err as Error).message.replace(/: use the serde.*$/, "")}: pass --${this.what}-serde with the producer's serde (${other})`,
      );
    }
  }

  private parseJson(text: string, line: number): unknown {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new InvalidArgumentError(
        `line ${line}: the ${this.what} is not JSON (${(err as Error).message}); --${this.what}-serde ${this.serdeName} reads JSON text, use string for plain text`,
      );
    }
  }
}
