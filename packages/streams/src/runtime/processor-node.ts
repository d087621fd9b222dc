import { StoreNotConnectedError, UnknownChildError } from "../errors.js";
import type { ProcessorStateStore, StateStore } from "@tributary/state";
import type { Cancellable, Processor, ProcessorContext, PunctuationType } from "./processor.js";
import type { RecordMetadata, StreamRecord } from "./stream-record.js";

/** What a node needs from the task it runs in. */
export interface TaskServices {
  readonly applicationId: string;
  readonly taskId: string;
  store(name: string): StateStore | undefined;
  storeNames(): string[];
  streamTime(): number;
  wallClockTime(): number;
  recordMetadata(): RecordMetadata | null;
  schedule(
    intervalMs: number,
    type: PunctuationType,
    callback: (time: number) => void,
  ): Cancellable;
  /** A processor asked for a commit once the current batch is done. */
  requestCommit(): void;
  /** Called on the way out of a throwing node; the first call names the innermost one. */
  noteFailure(node: string): void;
}

/**
 * A processor in a running task, with its children. The node is its processor's context,
 * so forwarding is a loop over an array with no lookup or allocation.
 */
export class ProcessorNode implements ProcessorContext<unknown, unknown> {
  children: ProcessorNode[] = [];
  private childByName = new Map<string, ProcessorNode>();

  constructor(
    readonly name: string,
    private readonly processor: Processor<unknown, unknown, unknown, unknown>,
    private readonly task: TaskServices,
    private readonly storeNames: readonly string[],
  ) {}

  get applicationId(): string {
    return this.task.applicationId;
  }

  get taskId(): string {
    return this.task.taskId;
  }

  addChild(child: ProcessorNode): void {
    this.children.push(child);
    this.childByName.set(child.name, child);
  }

  init(): void {
    this.processor.init?.(this);
  }

  process(record: StreamRecord<unknown, unknown>): void {
    try {
      this.processor.process(record);
    } catch (e) {
      this.task.noteFailure(this.name);
      throw e;
    }
  }

  /** Stream time moved with no record (a watermark): tells the processor, if it cares. */
  streamTimeAdvanced(time: number): void {
    try {
      this.processor.streamTimeAdvanced?.(time);
    } catch (e) {
      this.task.noteFailure(this.name);
      throw e;
    }
  }

  forward(record: StreamRecord<unknown, unknown>, childName?: string): void {
    if (childName !== undefined) {
      const child = this.childByName.get(childName);
      if (child === undefined) {
        throw new UnknownChildError(childName, this.name, [...this.childByName.keys()]);
      }
      child.process(record);
      return;
    }
    const children = this.children;
    for (let i = 0; i < children.length; i++) children[i]!.process(record);
  }

  getStateStore<S extends ProcessorStateStore>(name: string): S {
    const store = this.storeNames.includes(name) ? this.task.store(name) : undefined;
    if (store === undefined) {
      const inTask = this.task.store(name) !== undefined;
      throw new StoreNotConnectedError(name, this.name, this.storeNames, inTask);
    }
    return store as ProcessorStateStore as S;
  }

  streamTime(): number {
    return this.task.streamTime();
  }

  wallClockTime(): number {
    return this.task.wallClockTime();
  }

  recordMetadata(): RecordMetadata | null {
    return this.task.recordMetadata();
  }

  schedule(
    intervalMs: number,
    type: PunctuationType,
    callback: (time: number) => void,
  ): Cancellable {
    return this.task.schedule(intervalMs, type, callback);
  }

  requestCommit(): void {
    this.task.requestCommit();
  }

  close(): void {
    this.processor.close?.();
  }
}
