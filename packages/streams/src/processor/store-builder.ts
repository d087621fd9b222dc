import { StreamsArgumentError } from "../errors.js";
import type {
  ProcessorKeyValueStore,
  ProcessorSessionStore,
  ProcessorStateStore,
  ProcessorWindowStore,
} from "@tributary/state";
import type { StoreDraft } from "../graph/graph-node.js";
import type { Serde } from "../serdes.js";
import { nameProblem } from "../topology/internal-names.js";
import type { StoreType } from "../topology/node-spec.js";

/** Which store, before serdes are given (Kafka's *BytesStoreSupplier): see `Stores`. */
export interface StoreSupplier<S extends ProcessorStateStore> {
  readonly name: string;
  readonly type: StoreType;
  /** Key-value only: the whole store in memory (change-logged, scannable). */
  readonly inMemory: boolean;
  /** Window and session stores: how long entries are kept behind stream time. */
  readonly retentionMs?: number;
  readonly retainDuplicates?: boolean;
  /** Type only: the store this supplier makes. */
  readonly __store?: S;
}

export type KeyValueStoreSupplier = StoreSupplier<ProcessorKeyValueStore<never, never>>;
export type WindowStoreSupplier = StoreSupplier<ProcessorWindowStore<never, never>>;
export type SessionStoreSupplier = StoreSupplier<ProcessorSessionStore<never, never>>;

/**
 * A store for custom processors, given to `StreamsBuilder.addStateStore` (Kafka's
 * StoreBuilder). It opens as the DSL's own stores do: RocksDB under the state directory,
 * behind the write-back cache, change-logged to `<applicationId>-<name>-changelog`
 * (compacted, one partition per task) and restored from it before its task processes
 * anything. Logging and caching are on by default; each `with…` returns a new builder.
 *
 * - caching off: every write goes to the change-logging layer at once instead of the
 *   latest per key at commit (more changelog records, same answers);
 * - logging off: the store is local only, and lost with its state directory.
 */
export class StoreBuilder<S extends ProcessorStateStore> {
  /** @internal */
  constructor(
    private readonly supplier: StoreSupplier<S>,
    private readonly keySerde: Serde<unknown>,
    private readonly valueSerde: Serde<unknown>,
    private readonly logging = true,
    private readonly caching = true,
  ) {
    const problem = nameProblem(supplier.name);
    if (problem !== null) {
      throw new StreamsArgumentError(
        `store name '${supplier.name}' ${problem}: it becomes part of its changelog topic's name, which follows Kafka's rules`,
      );
    }
  }

  get name(): string {
    return this.supplier.name;
  }

  get loggingEnabled(): boolean {
    return this.logging;
  }

  get cachingEnabled(): boolean {
    return this.caching;
  }

  withLoggingEnabled(): StoreBuilder<S> {
    return this.copy(true, this.caching);
  }

  withLoggingDisabled(): StoreBuilder<S> {
    return this.copy(false, this.caching);
  }

  withCachingEnabled(): StoreBuilder<S> {
    return this.copy(this.logging, true);
  }

  withCachingDisabled(): StoreBuilder<S> {
    return this.copy(this.logging, false);
  }

  /** @internal The store as the graph declares it. */
  draft(): StoreDraft {
    const s = this.supplier;
    return {
      name: s.name,
      type: s.type,
      keySerde: this.keySerde,
      valueSerde: this.valueSerde,
      loggingEnabled: this.logging,
      ...(s.retentionMs === undefined ? {} : { retentionMs: s.retentionMs }),
      ...(s.retainDuplicates === undefined ? {} : { retainDuplicates: s.retainDuplicates }),
      ...(s.inMemory ? { inMemory: true } : {}),
      ...(this.caching ? {} : { caching: false }),
    };
  }

  private copy(logging: boolean, caching: boolean): StoreBuilder<S> {
    return new StoreBuilder(this.supplier, this.keySerde, this.valueSerde, logging, caching);
  }
}
