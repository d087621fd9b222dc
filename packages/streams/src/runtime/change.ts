import type { Serde } from "../serdes.js";
import { SerdeDecodeError } from "@tributary/log";

/**
 * A KTable update: the key's value after and before it. Null means absent (a new key has
 * a null old value; a deletion a null new value). KTable processors forward Change values
 * so that downstream aggregations can subtract the old value (Kafka's Change<V>).
 */
export interface Change<V> {
  newValue: V | null;
  oldValue: V | null;
}

/*
 * change format, how a Change crosses a repartition topic (Kafka's ChangedSerializer):
 *   Change => flags:uint8 [newLength:uint32 newBytes] [oldBytes]
 *   flags  => bit 0: new value present, bit 1: old value present
 * newLength is present only when both values are; otherwise the one value fills the rest.
 */
export function changeSerde<V>(inner: Serde<V>): Serde<Change<V>> {
  return {
    name: `change(${inner.name ?? "custom"})`,
    serialize(change) {
      if (change === null) return null;
      const n = change.newValue === null ? null : inner.serialize(change.newValue);
      const o = change.oldValue === null ? null : inner.serialize(change.oldValue);
      const flags = (n === null ? 0 : 1) | (o === null ? 0 : 2);
      if (n !== null && o !== null) {
        const out = Buffer.allocUnsafe(5 + n.length + o.length);
        out[0] = flags;
        out.writeUInt32BE(n.length, 1);
        n.copy(out, 5);
        o.copy(out, 5 + n.length);
        return out;
      }
      const one = n ?? o;
      const out = Buffer.allocUnsafe(1 + (one === null ? 0 : one.length));
      out[0] = flags;
      if (one !== null) one.copy(out, 1);
      return out;
    },
    deserialize(bytes) {
      if (bytes === null) return null as unknown as Change<V>;
      if (bytes.length < 1 || bytes[0]! > 3) {
        throw new SerdeDecodeError("the record is not a KTable change (bad flags byte)", {});
      }
      const flags = bytes[0]!;
      if (flags === 3) {
        if (bytes.length < 5) throw new SerdeDecodeError("truncated KTable change", {});
        const len = bytes.readUInt32BE(1);
        if (5 + len > bytes.length) throw new SerdeDecodeError("truncated KTable change", {});
        return {
          newValue: inner.deserialize(bytes.subarray(5, 5 + len)),
          oldValue: inner.deserialize(bytes.subarray(5 + len)),
        };
      }
      const rest = bytes.subarray(1);
      return {
        newValue: flags & 1 ? inner.deserialize(rest) : null,
        oldValue: flags & 2 ? inner.deserialize(rest) : null,
      };
    },
  };
}
