/*
 * Key layout of the time-keyed stores (window and session), in the key-value byte layers
 * below them (cache, change-logging, engine), all integers big-endian:
 *
 *   SegmentedKey => segment:int64 keyLength:uint32 key:bytes time:int64 tail:bytes
 *   segment      => floor(time / segmentInterval)
 *   tail         => seq:uint32                       (window store: 0, or a sequence number
 *                                                     when duplicates are kept)
 *                 | start:int64                      (session store: time is the end)
 *
 * Segment first, so expiring a whole segment is one contiguous range; then the key with
 * its length (a key is never a prefix of another key's entries), then time, so one key's
 * entries in a segment are contiguous and ordered by time. Times are >= 0, so their
 * big-endian bytes sort as numbers. Segment ids stay far below 0xff0000000000, so no key
 * starts with the 00 00 ff prefix the engines reserve.
 */

/** Where the key starts: after segment:int64 and keyLength:uint32. */
export const KEY_OFFSET = 12;

export function encodeSegmentedKey(
  segmentInterval: number,
  key: Buffer,
  time: number,
  tail: Buffer,
): Buffer {
  const out = Buffer.allocUnsafe(KEY_OFFSET + key.length + 8 + tail.length);
  writeInt64(out, Math.floor(time / segmentInterval), 0);
  out.writeUInt32BE(key.length, 8);
  key.copy(out, KEY_OFFSET);
  writeInt64(out, time, KEY_OFFSET + key.length);
  tail.copy(out, KEY_OFFSET + key.length + 8);
  return out;
}

/** A whole number in [0, 2^53) as a big-endian int64, without a BigInt per write. */
function writeInt64(out: Buffer, n: number, at: number): void {
  const high = Math.floor(n / 0x1_0000_0000);
  out.writeUInt32BE(high, at);
  out.writeUInt32BE(n - high * 0x1_0000_0000, at + 4);
}

export function decodeSegmentedKey(bytes: Buffer): { key: Buffer; time: number; tail: Buffer } {
  const len = bytes.readUInt32BE(8);
  return {
    key: bytes.subarray(KEY_OFFSET, KEY_OFFSET + len),
    time: readInt64(bytes, KEY_OFFSET + len),
    tail: bytes.subarray(KEY_OFFSET + len + 8),
  };
}

/** writeInt64's inverse (times are >= 0 and below 2^53). */
function readInt64(bytes: Buffer, at: number): number {
  return bytes.readUInt32BE(at) * 0x1_0000_0000 + bytes.readUInt32BE(at + 4);
}

export function segmentPrefix(segment: number, key?: Buffer): Buffer {
  const out = Buffer.allocUnsafe(key === undefined ? 8 : KEY_OFFSET + key.length);
  out.writeBigInt64BE(BigInt(segment), 0);
  if (key !== undefined) {
    out.writeUInt32BE(key.length, 8);
    key.copy(out, KEY_OFFSET);
  }
  return out;
}
