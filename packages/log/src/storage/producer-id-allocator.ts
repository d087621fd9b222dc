import fs from "node:fs";
import path from "node:path";
import { crc32c } from "@node-rs/crc32";
import { CorruptRecordError, errnoOf, StorageError, storageRemedy } from "../errors.js";
import { writeFileDurably } from "./durable-file.js";

const FILE = "producer-ids";
/** Ids reserved per write of the file: a restart skips at most this many. */
const BLOCK = 1000;

/**
 * Hands out idempotent producer ids (Kafka's InitProducerId), unique across restarts of
 * the data directory: ids are reserved in blocks, and a block's end is made durable in
 * `<data>/producer-ids` before any id of it is handed out, so a process killed at any
 * point restarts past every id it gave. Ids fit in 2^53, so they stay plain numbers.
 *
 *   producer-ids (text, replaced atomically via writeFileDurably) =>
 *     "tributary-producer-ids 1" LF
 *     "next-block " decimal LF       the first id not yet reserved
 *     "crc32c " decimal LF           CRC-32C of every byte before this line
 */
export class ProducerIdAllocator {
  private next = 0;
  private blockEnd = 0;

  constructor(private readonly dataDir: string) {}

  /** A new producer id (epoch 0). Synchronous: one small fsynced write per 1,000 ids. */
  allocate(): { producerId: number; producerEpoch: number } {
    this.reserveBlock();
    return { producerId: this.next++, producerEpoch: 0 };
  }

  /**
   * Reserves the next block of ids unless some are left; the log calls it at open too,
   * so that the first producer after a start needs no write (the disk may be full by then).
   */
  reserveBlock(): void {
    if (this.next === this.blockEnd) {
      const start = Math.max(this.readReserved(), this.blockEnd);
      const body = `tributary-producer-ids 1\nnext-block ${start + BLOCK}\n`;
      const file = path.join(this.dataDir, FILE);
      try {
        writeFileDurably(file, `${body}crc32c ${crc32c(Buffer.from(body))}\n`, 0o644);
      } catch (err) {
        // A full disk: retriable, as a refused append is; the producer asks again.
        const errno = errnoOf(err);
        if (errno === undefined) throw err;
        throw new StorageError(
          `could not reserve producer ids in ${file} (${errno}): ${storageRemedy(errno)}`,
          err,
        );
      }
      this.next = start;
      this.blockEnd = start + BLOCK;
    }
  }

  private readReserved(): number {
    const file = path.join(this.dataDir, FILE);
    let text: string;
    try {
      text = fs.readFileSync(file, "latin1");
    } catch {
      return 0;
    }
    const m = /^(tributary-producer-ids 1\nnext-block (\d+)\n)crc32c (\d+)\n$/.exec(text);
    if (m === null || crc32c(Buffer.from(m[1]!, "latin1")) !== Number(m[3])) {
      // Handing out ids from 0 again could let a new producer's batches pass as an old
      // one's retries: refuse instead.
      throw new CorruptRecordError(
        `${file} fails its format or CRC check, so which producer ids were handed out is unknown: restore it from a backup, or write "next-block" past every id in use (any larger number is safe)`,
      );
    }
    return Number(m[2]);
  }
}
