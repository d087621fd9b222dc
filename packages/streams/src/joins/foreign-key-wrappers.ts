import { createHash } from "node:crypto";
import { SerdeDecodeError } from "@tributary/log";
import type { Serde } from "../serdes.js";

/**
 * What the two halves of a foreign-key join (KIP-213) send each other, and how.
 *
 * The left side sends a subscription, keyed by the foreign key, to the subscription
 * registration topic; the right side answers on the subscription response topic, keyed by
 * the left row's primary key. Each carries a hash of the left value it was made for: the
 * left side drops a response whose hash is not that of the row's current value (a stale
 * answer to an older version of the row, overtaken by a later change).
 */

/** What the right side does with a subscription (Kafka's SubscriptionWrapper.Instruction). */
export const Instruction = {
  /** The row left this foreign key for another: unsubscribe, answer nothing. */
  DELETE_KEY_NO_PROPAGATE: 0,
  /** The row was deleted: unsubscribe, answer with null (the result is retracted). */
  DELETE_KEY_AND_PROPAGATE: 1,
  /** Subscribe; answer with the right value, or null when there is none. */
  PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE: 2,
  /** Subscribe; answer only when there is a right value. */
  PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE: 3,
} as const;
export type Instruction = (typeof Instruction)[keyof typeof Instruction];

export interface Subscription {
  instruction: Instruction;
  /** Hash of the left value (null for a deleted row). */
  hash: Buffer | null;
  /** The left row's key, in the left key serde's bytes. */
  primaryKey: Buffer;
}

export interface SubscriptionResponse {
  hash: Buffer | null;
  /** The right row's value, or null (none, or the result is retracted). */
  value: unknown;
}

/** One left row subscribed to a foreign key, as the subscription store keeps it. */
export interface Subscriber {
  primaryKey: Buffer;
  hash: Buffer | null;
}

/** The hash a subscription and its response carry: MD5 of the left value's bytes (128
 * bits, as KIP-213's murmur3-128; it only tells versions of one row apart). */
export function valueHash(bytes: Buffer | null): Buffer | null {
  return bytes === null ? null : createHash("md5").update(bytes).digest();
}

export function sameHash(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

const VERSION = 0;

/*
 * subscription format (value of the subscription registration topic):
 *   Subscription => version:uint8 instruction:uint8 hashLength:uint8 hash:bytes[hashLength]
 *                   primaryKey:bytes (the rest)
 * hashLength 0: no hash (a deleted row).
 */
export const subscriptionSerde: Serde<Subscription> = {
  name: "fk-subscription",
  serialize(s) {
    if (s === null) return null;
    const hash = s.hash ?? Buffer.alloc(0);
    return Buffer.concat([Buffer.from([VERSION, s.instruction, hash.length]), hash, s.primaryKey]);
  },
  deserialize(bytes) {
    if (bytes === null) return null as unknown as Subscription;
    if (bytes.length < 3 || bytes[0] !== VERSION || bytes[1]! > 3) {
      throw new SerdeDecodeError("the record is not a foreign-key join subscription", {});
    }
    const n = bytes[2]!;
    if (3 + n > bytes.length) throw new SerdeDecodeError("truncated foreign-key subscription", {});
    return {
      instruction: bytes[1] as Instruction,
      hash: n === 0 ? null : Buffer.from(bytes.subarray(3, 3 + n)),
      primaryKey: Buffer.from(bytes.subarray(3 + n)),
    };
  },
};

/*
 * response format (value of the subscription response topic):
 *   Response => version:uint8 flags:uint8 hashLength:uint8 hash:bytes[hashLength]
 *               value:bytes (the rest, in the right value serde; present iff flags bit 0)
 */
export function responseSerde(values: Serde<unknown>): Serde<SubscriptionResponse> {
  return {
    name: `fk-response(${values.name ?? "custom"})`,
    serialize(r) {
      if (r === null) return null;
      const hash = r.hash ?? Buffer.alloc(0);
      const value = r.value === null ? null : values.serialize(r.value);
      const head = Buffer.from([VERSION, value === null ? 0 : 1, hash.length]);
      return Buffer.concat(value === null ? [head, hash] : [head, hash, value]);
    },
    deserialize(bytes) {
      if (bytes === null) return null as unknown as SubscriptionResponse;
      if (bytes.length < 3 || bytes[0] !== VERSION || bytes[1]! > 1) {
        throw new SerdeDecodeError("the record is not a foreign-key join response", {});
      }
      const n = bytes[2]!;
      if (3 + n > bytes.length) throw new SerdeDecodeError("truncated foreign-key response", {});
      return {
        hash: n === 0 ? null : Buffer.from(bytes.subarray(3, 3 + n)),
        value: bytes[1] === 1 ? values.deserialize(bytes.subarray(3 + n)) : null,
      };
    },
  };
}

/*
 * subscribers format (value of the subscription store, keyed by the foreign key):
 *   Subscribers => count:uint32 Subscriber*count
 *   Subscriber  => keyLength:uint32 primaryKey:bytes[keyLength] hashLength:uint8
 *                  hash:bytes[hashLength]
 */
export const subscribersSerde: Serde<Subscriber[]> = {
  name: "fk-subscribers",
  serialize(list) {
    if (list === null) return null;
    const parts: Buffer[] = [u32(list.length)];
    for (const s of list) {
      const hash = s.hash ?? Buffer.alloc(0);
      parts.push(u32(s.primaryKey.length), s.primaryKey, Buffer.from([hash.length]), hash);
    }
    return Buffer.concat(parts);
  },
  deserialize(bytes) {
    const bad = () => new SerdeDecodeError("corrupt foreign-key subscription store entry", {});
    if (bytes === null) return null as unknown as Subscriber[];
    if (bytes.length < 4) throw bad();
    const count = bytes.readUInt32BE(0);
    const out: Subscriber[] = [];
    let at = 4;
    for (let i = 0; i < count; i++) {
      if (at + 4 > bytes.length) throw bad();
      const k = bytes.readUInt32BE(at);
      at += 4;
      if (at + k + 1 > bytes.length) throw bad();
      const primaryKey = Buffer.from(bytes.subarray(at, at + k));
      at += k;
      const h = bytes[at]!;
      at += 1;
      if (at + h > bytes.length) throw bad();
      out.push({ primaryKey, hash: h === 0 ? null : Buffer.from(bytes.subarray(at, at + h)) });
      at += h;
    }
    return out;
  },
};

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n);
  return b;
}
