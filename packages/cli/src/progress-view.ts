import cliProgress from "cli-progress";
import type { RunTotals } from "./supervisor.js";

export interface ProgressSnapshot extends RunTotals {
  workers: number;
  wanted: number;
  /** Running workers that have their tasks (created, stores restored). */
  assigned: number;
  lag: number;
  restoreDone: number;
  restoreTotal: number;
  /** Input records still to process before --until-caught-up is done. */
  remaining?: number;
  /** Connector runs: tasks of running workers that serve, of all their tasks. */
  tasksServing?: number;
  tasksTotal?: number;
}

/**
 * Live progress of `tributary run` on stderr: on a terminal one line redrawn in place
 * (cli-progress) with records/s, lag and a restore bar while stores restore; otherwise a
 * plain line every few seconds, so logs and CI output stay readable.
 */
export class ProgressView {
  private bars: cliProgress.MultiBar | undefined;
  private bar: cliProgress.SingleBar | undefined;
  private lastProcessed = 0;
  private lastAt = Date.now();
  private lastPlain = 0;
  private rate = 0;

  constructor(
    tty: boolean,
    private readonly plainEveryMs = 5000,
  ) {
    if (tty) {
      // A MultiBar (of one) because it can print lines above the live one (log()).
      this.bars = new cliProgress.MultiBar(
        {
          format:
            "{workers} | {rate} rec/s | processed {processed}{dropped}{lost} | lag {lag}{remaining} | restore [{bar}] {restore}",
          barsize: 20,
          hideCursor: true,
          stream: process.stderr,
          fps: 5,
          clearOnComplete: false,
          forceRedraw: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar = this.bars.create(1, 0, this.payload(emptySnapshot()));
    }
  }

  update(s: ProgressSnapshot): void {
    const now = Date.now();
    if (now - this.lastAt >= 1000) {
      this.rate = Math.max(
        0,
        Math.round(((s.processed - this.lastProcessed) * 1000) / (now - this.lastAt)),
      );
      this.lastProcessed = s.processed;
      this.lastAt = now;
    }
    if (this.bar !== undefined) {
      this.bar.setTotal(Math.max(1, s.restoreTotal));
      this.bar.update(s.restoreTotal === 0 ? 0 : s.restoreDone, this.payload(s));
      return;
    }
    if (now - this.lastPlain >= this.plainEveryMs) {
      this.lastPlain = now;
      this.message(this.plainLine(s));
    }
  }

  /** A line that stays (worker events), printed above the live line on a terminal. */
  message(text: string): void {
    if (this.bars !== undefined) this.bars.log(`${text}\n`);
    else process.stderr.write(`${text}\n`);
  }

  close(final?: ProgressSnapshot): void {
    if (final !== undefined) {
      if (this.bar !== undefined) this.bar.update(0, this.payload(final));
      else this.message(this.plainLine(final));
    }
    this.bars?.stop();
    this.bars = undefined;
    this.bar = undefined;
  }

  private plainLine(s: ProgressSnapshot): string {
    const restore =
      s.restoreTotal > s.restoreDone ? ` restoring=${s.restoreDone}/${s.restoreTotal}` : "";
    const remaining = s.remaining === undefined ? "" : ` remaining=${s.remaining}`;
    const lost = s.lostToRetention === 0 ? "" : ` lost-to-retention=${s.lostToRetention}`;
    return `progress: workers=${s.workers}/${s.wanted} rate=${this.rate}/s processed=${s.processed} dead-lettered=${s.deadLettered} dropped-late=${s.droppedLate}${lost} lag=${s.lag}${remaining}${restore}`;
  }

  private payload(s: ProgressSnapshot) {
    return {
      workers: `${s.workers}/${s.wanted} workers`,
      rate: this.rate.toLocaleString("en-US"),
      processed: s.processed.toLocaleString("en-US"),
      dropped:
        s.deadLettered + s.droppedLate === 0
          ? ""
          : ` | dead-lettered ${s.deadLettered.toLocaleString("en-US")} | late ${s.droppedLate.toLocaleString("en-US")}`,
      lost:
        s.lostToRetention === 0
          ? ""
          : ` | lost to retention ${s.lostToRetention.toLocaleString("en-US")}`,
      lag: s.lag.toLocaleString("en-US"),
      remaining: s.remaining === undefined ? "" : ` | ${s.remaining.toLocaleString("en-US")} to go`,
      restore: s.restoreTotal === 0 ? "done" : `${s.restoreDone}/${s.restoreTotal}`,
    };
  }
}

function emptySnapshot(): ProgressSnapshot {
  return {
    workers: 0,
    wanted: 0,
    assigned: 0,
    processed: 0,
    deadLettered: 0,
    deserializationFailed: 0,
    droppedLate: 0,
    lostToRetention: 0,
    lag: 0,
    restoreDone: 0,
    restoreTotal: 0,
  };
}
