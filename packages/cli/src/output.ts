/**
 * Writing results. Stdout carries the data (records, tables, plans) and nothing else, so
 * it can be piped; messages for the user go to stderr. Lines are buffered and written in
 * chunks, and a full pipe is waited for (drain) rather than buffered without bound.
 */
export class LineWriter {
  private chunks: string[] = [];
  private size = 0;
  private closedPipe = false;

  constructor(private readonly stream: NodeJS.WritableStream = process.stdout) {
    // `tributary consume ... | head` closes the pipe early: that is a normal way to stop.
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") this.closedPipe = true;
      else throw err;
    });
  }

  /** True once the reader went away: stop producing output. */
  get closed(): boolean {
    return this.closedPipe;
  }

  line(text: string): void {
    this.chunks.push(text, "\n");
    this.size += text.length + 1;
  }

  /** Writes what is buffered; resolves when the stream can take more. */
  async flush(): Promise<void> {
    if (this.size === 0 || this.closedPipe) {
      this.chunks = [];
      this.size = 0;
      return;
    }
    const text = this.chunks.join("");
    this.chunks = [];
    this.size = 0;
    if (!this.stream.write(text)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off("drain", done);
          this.stream.off("error", done);
          resolve();
        };
        this.stream.on("drain", done);
        this.stream.on("error", done);
      });
    }
  }

  /** Flushes when enough is buffered that holding more only costs memory. */
  async maybeFlush(): Promise<void> {
    if (this.size >= 64 * 1024) await this.flush();
  }
}

/** Aligns rows under a header, two spaces between columns. */
export function formatTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => String(c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function printTable(header: string[], rows: (string | number)[][]): void {
  process.stdout.write(`${formatTable(header, rows)}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** A message for the user (not data): stderr, so stdout stays pipeable. */
export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}
