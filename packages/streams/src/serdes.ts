import * as log from "@tributary/log";
import { SerdeDecodeError, SerdeEncodeError } from "@tributary/log";

/**
 * The serde contract of @tributary/log (packages/log/src/serde.ts), restated here so the
 * DSL compiles while the log's index does not export it yet. It is structurally the same
 * type: a log `Serde<T>` is accepted wherever this one is, and the other way round.
 *
 * Null is not data: `serialize(null)` is null and `deserialize(null)` is null, so a
 * tombstone stays a tombstone through every serde.
 */
export interface Serde<T> {
  serialize(value: T): Buffer | null;
  deserialize(bytes: Buffer | null): T;
  readonly name?: string;
}

interface SerdesShape {
  msgpack<T = unknown>(): Serde<T>;
  json<T = unknown>(): Serde<T>;
  string(): Serde<string>;
  bytes(): Serde<Buffer>;
}

/*
 * Fallback json format, used only until @tributary/log exports its Serdes: UTF-8 JSON.
 *   value => JSON.stringify(value) as UTF-8
 */
const jsonFallback: Serde<unknown> = {
  name: "JSON",
  serialize(value) {
    if (value === null) return null;
    const text = JSON.stringify(value);
    if (text === undefined) {
      throw new SerdeEncodeError(`cannot encode a ${typeof value} as JSON`);
    }
    return Buffer.from(text, "utf8");
  },
  deserialize(bytes) {
    if (bytes === null) return null;
    try {
      return JSON.parse(bytes.toString("utf8"));
    } catch (e) {
      throw new SerdeDecodeError(`the record is not JSON (${(e as Error).message})`, {}, e);
    }
  },
};

/* Fallback string format: the string's UTF-8 bytes. */
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const stringFallback: Serde<string> = {
  name: "UTF-8 string",
  serialize(value) {
    if (value === null) return null;
    return Buffer.from(value, "utf8");
  },
  deserialize(bytes) {
    if (bytes === null) return null as unknown as string;
    try {
      return utf8.decode(bytes);
    } catch (e) {
      throw new SerdeDecodeError("the record is not UTF-8 text", {}, e);
    }
  },
};

const bytesFallback: Serde<Buffer> = {
  name: "bytes",
  serialize: (v) => v,
  deserialize: (b) => b as Buffer,
};

const fallback: SerdesShape = {
  msgpack: <T>() => jsonFallback as Serde<T>,
  json: <T>() => jsonFallback as Serde<T>,
  string: () => stringFallback,
  bytes: () => bytesFallback,
};

/**
 * The built-in serdes: @tributary/log's (MessagePack by default) when its index exports
 * them, else a JSON stand-in so topologies run meanwhile. Looked up at load time, so the
 * real ones take over with no change here.
 */
export const Serdes: SerdesShape = (log as unknown as { Serdes?: SerdesShape }).Serdes ?? fallback;

/** The serde used wherever an operation is given none (MessagePack). */
export function defaultSerde<T>(): Serde<T> {
  return Serdes.msgpack<T>();
}
