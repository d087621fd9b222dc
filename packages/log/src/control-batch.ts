import { CorruptRecordError } from "./errors.js";
import { CONTROL_FLAG, encodeBatch, type RecordBatch, TRANSACTIONAL_FLAG } from "./record-batch.js";

/** What a transaction marker says about the transaction it ends. */
export type ControlType = "ABORT" | "COMMIT";

const CONTROL_VERSION = 0;
const ABORT = 0;
const COMMIT = 1;

/*
 * A transaction marker: the control batch the transaction coordinator appends to every
 * partition a transaction wrote, as Kafka's (ControlRecordType, EndTransactionMarker), so
 * the bytes are the same on disk and on Kafka's wire:
 *
 *   ControlBatch => RecordBatch with attributes = isTransactional | isControl (0x30),
 *                   producerId/producerEpoch of the transaction, baseSequence -1,
 *                   one record:
 *     key   => version:int16 (0)  type:int16 (0 ABORT, 1 COMMIT)
 *     value => version:int16 (0)  coordinatorEpoch:int32
 *
 * A marker ends the producer's open transaction on that partition; an ABORT one also adds
 * it to the partition's aborted-transaction index. No consumer is ever handed a control
 * record, whatever its isolation level.
 */
export function encodeControlBatch(
  producerId: number,
  producerEpoch: number,
  type: ControlType,
  coordinatorEpoch: number,
  timestamp: number,
): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(CONTROL_VERSION, 0);
  key.writeInt16BE(type === "COMMIT" ? COMMIT : ABORT, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(CONTROL_VERSION, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  return encodeBatch([{ key, value, timestamp }], {
    producerId,
    producerEpoch,
    baseSequence: -1,
    attributes: TRANSACTIONAL_FLAG | CONTROL_FLAG,
  });
}

/** The type of control batch `batch` (its one record's key). */
export function controlTypeOf(batch: RecordBatch): ControlType {
  let type: ControlType | undefined;
  batch.forEach((r) => {
    if (r.key !== null && r.key.length >= 4 && r.key.readInt16BE(0) === CONTROL_VERSION) {
      const t = r.key.readInt16BE(2);
      type = t === COMMIT ? "COMMIT" : t === ABORT ? "ABORT" : undefined;
    }
  });
  if (type === undefined) {
    throw new CorruptRecordError(
      `control batch at offset ${batch.baseOffset} has no version-0 ABORT or COMMIT key`,
    );
  }
  return type;
}
