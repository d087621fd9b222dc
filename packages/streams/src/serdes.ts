import { Serdes, type Serde } from "@tributary/log";

/**
 * Serdes are the log's (packages/log/src/serde.ts): MessagePack by default, JSON, UTF-8
 * string, raw bytes, or any object with serialize/deserialize. Re-exported so a topology
 * file needs only @tributary/streams.
 */
export { Serdes, type Serde };

/** The serde used wherever an operation is given none (MessagePack). */
export function defaultSerde<T>(): Serde<T> {
  return Serdes.msgpack<T>();
}
