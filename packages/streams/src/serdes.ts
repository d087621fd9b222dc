import { Serdes, type Serde } from "@tributary/log";
import { msgpackIntegerSerde } from "./msgpack-integer-serde.js";

/**
 * Serdes are the log's (packages/log/src/serde.ts): MessagePack by default, JSON, UTF-8
 * string, raw bytes, or any object with serialize/deserialize. Re-exported so a topology
 * file needs only @tributary/streams.
 */
export { Serdes, type Serde };

/** The serde used wherever an operation is given none (MessagePack; integers without msgpackr). */
export function defaultSerde<T>(): Serde<T> {
  return msgpackIntegerSerde as Serde<T>;
}
