import { C1, Packr } from "msgpackr";
import { SerdeDecodeError, SerdeEncodeError } from "./errors.js";

/**
 * A serde turns typed keys and values into record bytes and back. Records hold bytes
 * (record.ts); only the outermost layers (producer, DSL, stores) know types.
 *
 * Null is not data: `serialize(null)` is null and `deserialize(null)` is null, so a null
 * value stays a tombstone through every serde. Type a serde as `Serde<V | null>` where
 * tombstones can reach it.
 *
 * A built-in serde that cannot decode throws SerdeDecodeError saying what the bytes are not;
 * `decodeOrThrow` adds where the record lives (topic, partition, offset) and what to do.
 */
export interface Serde<T> {
  serialize(value: T): Buffer | null;
  deserialize(bytes: Buffer | null): T;
  /** Names the format in error messages ("MessagePack", "JSON", …). */
  readonly name?: string;
}

/** Where a record lives, for decode errors. */
export interface RecordLocation {
  topic: string;
  partition: number;
  offset: number;
}

/*
 * msgpack format: plain MessagePack (https://msgpack.org/), readable by any language's
 * library. `useRecords: false` turns off msgpackr's record extension (its structure
 * dictionary is msgpackr-only); objects are written as maps, binary as bin, Date as the
 * standard timestamp extension (-1).
 *   value => MessagePack object
 */
const packr = new Packr({ useRecords: false });

const msgpackSerde: Serde<unknown> = {
  name: "MessagePack",
  serialize(value) {
    if (value === null) return null;
    try {
      return packr.pack(value);
    } catch (e) {
      throw new SerdeEncodeError(`cannot encode the value as MessagePack: ${errorMessage(e)}`, e);
    }
  },
  deserialize(bytes) {
    if (bytes === null) return null;
    let v: unknown;
    try {
      v = packr.unpack(bytes);
    } catch (e) {
      throw new SerdeDecodeError(
        `the record is not MessagePack (${errorMessage(e)}, ${bytes.length} bytes starting ${preview(bytes)})`,
        {},
        e,
      );
    }
    // 0xC1 is "never used" in MessagePack; msgpackr returns a marker instead of failing.
    if (v === C1) {
      throw new SerdeDecodeError(
        `the record is not MessagePack (byte 0xc1 is never used, ${bytes.length} bytes starting ${preview(bytes)})`,
        {},
      );
    }
    return v;
  },
};

/*
 * json format: UTF-8 JSON text (RFC 8259).
 *   value => JSON.stringify(value) as UTF-8
 */
const jsonSerde: Serde<unknown> = {
  name: "JSON",
  serialize(value) {
    if (value === null) return null;
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (e) {
      throw new SerdeEncodeError(`cannot encode the value as JSON: ${errorMessage(e)}`, e);
    }
    if (text === undefined) {
      throw new SerdeEncodeError(
        `cannot encode a ${typeof value} as JSON: give a value JSON can represent, or null for a tombstone`,
      );
    }
    return Buffer.from(text, "utf8");
  },
  deserialize(bytes) {
    if (bytes === null) return null;
    const text = decodeUtf8(bytes, "JSON");
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new SerdeDecodeError(
        `the record is not JSON (${errorMessage(e)}, ${bytes.length} bytes starting ${preview(bytes)})`,
        {},
        e,
      );
    }
  },
};

/*
 * string format: the string's UTF-8 bytes, no length or terminator.
 *   value => utf8 bytes
 */
const stringSerde: Serde<string> = {
  name: "UTF-8 string",
  serialize(value) {
    if (value === null) return null;
    if (typeof value !== "string") {
      throw new SerdeEncodeError(
        `the string serde got a ${typeof value}: convert it to a string first, or use the msgpack or json serde`,
      );
    }
    return Buffer.from(value, "utf8");
  },
  deserialize(bytes) {
    if (bytes === null) return null as unknown as string;
    return decodeUtf8(bytes, "UTF-8 text");
  },
};

/* bytes format: the bytes as they are. */
const bytesSerde: Serde<Buffer> = {
  name: "bytes",
  serialize(value) {
    if (value === null) return null;
    if (!Buffer.isBuffer(value)) {
      throw new SerdeEncodeError(
        "the bytes serde takes a Buffer: use Buffer.from(...) or another serde",
      );
    }
    return value;
  },
  deserialize(bytes) {
    return bytes as Buffer;
  },
};

/** The built-in serdes. MessagePack is the default everywhere a serde is not given. */
export const Serdes = {
  msgpack<T = unknown>(): Serde<T> {
    return msgpackSerde as Serde<T>;
  },
  json<T = unknown>(): Serde<T> {
    return jsonSerde as Serde<T>;
  },
  string(): Serde<string> {
    return stringSerde;
  },
  bytes(): Serde<Buffer> {
    return bytesSerde;
  },
  default<T = unknown>(): Serde<T> {
    return msgpackSerde as Serde<T>;
  },
} as const;

/**
 * Decodes with `serde`; any failure becomes a SerdeDecodeError that names the record's
 * topic, partition and offset, what the bytes are not, and what to do about it.
 */
export function decodeOrThrow<T>(serde: Serde<T>, bytes: Buffer | null, where: RecordLocation): T {
  try {
    return serde.deserialize(bytes);
  } catch (e) {
    const what =
      e instanceof SerdeDecodeError
        ? e.message
        : `the ${serde.name ?? "custom"} serde failed: ${errorMessage(e)}`;
    throw new SerdeDecodeError(
      `cannot decode the record at ${where.topic}-${where.partition} offset ${where.offset}: ${what}: use the serde the producer used, or route the record to a dead-letter topic`,
      { topic: where.topic, partition: where.partition, offset: where.offset },
      e,
    );
  }
}

// fatal: a producer that wrote Latin-1 or binary must fail loudly, not decode as U+FFFD.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function decodeUtf8(bytes: Buffer, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch (e) {
    throw new SerdeDecodeError(
      `the record is not ${what}: its bytes are not valid UTF-8 (${bytes.length} bytes starting ${preview(bytes)})`,
      {},
      e,
    );
  }
}

function preview(bytes: Buffer): string {
  const n = Math.min(bytes.length, 16);
  return `0x${bytes.subarray(0, n).toString("hex")}${bytes.length > n ? "…" : ""}`;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
