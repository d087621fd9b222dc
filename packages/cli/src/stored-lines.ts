import { InvalidArgumentError, type ProducerRecord } from "@tributary/log";
import { CliError } from "./errors.js";
import { note } from "./output.js";

/**
 * How far `tributary produce` got: the input lines whose records the log acknowledged
 * (lines are stored in order, so "lines 1–N" is exact and `--skip N` resumes after them),
 * and records stamped older than the topic's retention, which the broker deletes at its
 * next retention check: the user hears of those at the first one, not after they vanish.
 */
export class StoredLines {
  /** Input lines (1-based, counting empty and skipped ones) whose records are stored. */
  lines = 0;
  records = 0;
  /** Records sent with a timestamp older than the topic's retention. */
  expired = 0;

  constructor(
    private readonly topic: string,
    /** The topic's retention.ms (-1: keeps every record, whatever its time). */
    private readonly retentionMs: number,
  ) {}

  /** `batch` was acknowledged; it ends at input line `lastLine`. */
  sent(batch: readonly ProducerRecord[], lastLine: number): void {
    this.lines = lastLine;
    this.records += batch.length;
    if (this.retentionMs < 0) return;
    const horizon = Date.now() - this.retentionMs;
    for (const r of batch) {
      if (r.timestamp === undefined || r.timestamp >= horizon) continue;
      if (this.expired++ === 0) {
        note(
          `warning: records stamped before ${new Date(horizon).toISOString()} are older than ${this.topic}'s retention (retention.ms=${this.retentionMs}): the broker deletes them at its next retention check. To keep a history, create the topic with --config retention.ms=-1, or stamp recent times`,
        );
      }
    }
  }

  linesText(): string {
    return this.lines === 0 ? "no input line stored" : `input lines 1–${this.lines} stored`;
  }

  /** The error for a bad input line `line`, saying what is stored and how to go on. */
  failedAt(line: number, err: Error): InvalidArgumentError {
    const resume =
      this.lines === 0
        ? `nothing stored: fix line ${line} and run again`
        : `${this.linesText()} (${this.records} record${this.records === 1 ? "" : "s"}): fix line ${line} and resume with --skip ${this.lines}`;
    return new InvalidArgumentError(`${err.message}; ${resume}`);
  }

  /**
   * The error for a send of input lines up to `lastLine` that failed: the log's own error,
   * plus what is stored. A send's records may go to several partitions, so a failed batch
   * of more than one line may be partly stored.
   */
  refused(lastLine: number, err: Error): CliError {
    const first = this.lines + 1;
    const which = first === lastLine ? `line ${first}` : `lines ${first}–${lastLine}`;
    const partly = first === lastLine ? "" : " (some of them may be stored)";
    return new CliError(
      "PRODUCE_FAILED",
      `${err.message}; ${this.linesText()}, ${which} not${partly}: resume with --skip ${this.lines}`,
      { cause: err },
    );
  }

  summary(): string {
    const expired =
      this.expired === 0 ? "" : `, ${this.expired} older than its retention (to be deleted)`;
    return `produced ${this.records} record${this.records === 1 ? "" : "s"} to ${this.topic}${expired}`;
  }
}
