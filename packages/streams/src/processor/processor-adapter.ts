import { KeyChangedError, StreamsArgumentError } from "../errors.js";
import type { ProcessorStateStore } from "@tributary/state";
import type {
  Processor as TaskProcessor,
  ProcessorContext as TaskProcessorContext,
} from "../runtime/processor.js";
import type { RecordMetadata, StreamRecord } from "../runtime/stream-record.js";
import type { AnyProcessorSupplier } from "../topology/node-spec.js";
import type { Processor } from "./processor.js";
import type { ProcessorContext } from "./processor-context.js";
import { type Cancellable, PunctuationType, type Punctuator } from "./punctuation-type.js";
import { Record } from "./record.js";

type AnyProcessor = Processor<unknown, unknown, unknown, unknown>;

const PUNCTUATION_TYPES: readonly string[] = Object.values(PunctuationType);

/**
 * Runs a user's Processor in a task: hands it Records (the task passes plain records
 * between the DSL's own processors) and a ProcessorContext of the public shape over the
 * task's. With `fixedKey` (processValues) a record forwarded from `process` must keep the
 * input's key.
 */
export class ProcessorAdapter
  implements TaskProcessor<unknown, unknown>, ProcessorContext<unknown, unknown>
{
  private task: TaskProcessorContext<unknown, unknown> | null = null;
  private processing = false;
  private inputKey: unknown = undefined;

  constructor(
    private readonly user: AnyProcessor,
    private readonly name: string,
    private readonly fixedKey: boolean,
  ) {}

  /**
   * The supplier the topology records: a new adapter over a new user processor per task.
   * A supplier returning the same processor twice would share fields between tasks.
   */
  static supplier(user: () => AnyProcessor, name: string, fixedKey: boolean): AnyProcessorSupplier {
    const made = new WeakSet<object>();
    return () => {
      const p = user();
      if (p === null || typeof p !== "object" || typeof p.process !== "function") {
        throw new StreamsArgumentError(
          `the supplier of processor '${name}' returned ${p === null ? "null" : typeof p}: return an object with process(record), e.g. () => new MyProcessor()`,
        );
      }
      if (made.has(p)) {
        throw new StreamsArgumentError(
          `the supplier of processor '${name}' returned the same processor twice: each task needs its own, so return a new one per call (() => new MyProcessor())`,
        );
      }
      made.add(p);
      return new ProcessorAdapter(p, name, fixedKey);
    };
  }

  init(context: TaskProcessorContext<unknown, unknown>): void {
    this.task = context;
    this.user.init?.(this);
  }

  process(record: StreamRecord<unknown, unknown>): void {
    this.processing = true;
    this.inputKey = record.key;
    try {
      this.user.process(Record.from(record));
    } finally {
      this.processing = false;
    }
  }

  close(): void {
    this.user.close?.();
  }

  get applicationId(): string {
    return this.context().applicationId;
  }

  get taskId(): string {
    return this.context().taskId;
  }

  forward(record: Record<unknown, unknown>, childName?: string): void {
    if (this.fixedKey && this.processing && record.key !== this.inputKey) {
      throw new KeyChangedError(this.name);
    }
    this.context().forward(record, childName);
  }

  schedule(intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable {
    if (!PUNCTUATION_TYPES.includes(type)) {
      throw new StreamsArgumentError(
        `processor '${this.name}' scheduled a punctuation of type '${String(type)}': use PunctuationType.STREAM_TIME or PunctuationType.WALL_CLOCK_TIME`,
      );
    }
    if (!(Number.isFinite(intervalMs) && intervalMs >= 1)) {
      throw new StreamsArgumentError(
        `processor '${this.name}' scheduled a punctuation every ${intervalMs} ms: the interval must be at least 1 ms`,
      );
    }
    return this.context().schedule(intervalMs, type, punctuator);
  }

  getStateStore<S extends ProcessorStateStore>(name: string): S {
    return this.context().getStateStore(name) as unknown as S;
  }

  recordMetadata(): RecordMetadata | null {
    return this.context().recordMetadata();
  }

  currentStreamTimeMs(): number {
    return this.context().streamTime();
  }

  currentSystemTimeMs(): number {
    return this.context().wallClockTime();
  }

  commit(): void {
    this.context().requestCommit();
  }

  private context(): TaskProcessorContext<unknown, unknown> {
    if (this.task === null) {
      throw new StreamsArgumentError(
        `processor '${this.name}' used its context before init(context): keep the context init gives and use it from there on`,
      );
    }
    return this.task;
  }
}
