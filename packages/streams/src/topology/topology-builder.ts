import { TopologyError } from "../errors.js";
import type { Serde } from "../serdes.js";
import type {
  AnyProcessorSupplier,
  InternalTopicSpec,
  NodeSpec,
  SinkSpec,
  SourceSpec,
  StoreSpec,
  TimestampExtractor,
} from "./node-spec.js";
import type { GlobalStoreSpec } from "./global-store-spec.js";
import { SubTopology, Topology } from "./topology.js";

/**
 * Collects sources, processors, sinks and stores by name (graph nodes write themselves
 * here, Kafka's InternalTopologyBuilder), checks the wiring, and builds the Topology:
 * nodes joined by an edge or by a shared store form one sub-topology; topics — repartition
 * topics included — are the only links between sub-topologies.
 */
export class TopologyBuilder {
  private readonly nodes = new Map<string, NodeSpec>();
  private readonly stores = new Map<string, StoreSpec>();
  private readonly internalTopics = new Map<string, InternalTopicSpec>();
  private readonly sourceByTopic = new Map<string, string>();
  private readonly coPartition: { join: string; processors: string[] }[] = [];
  private readonly globalStores = new Map<string, GlobalStoreSpec>();

  constructor(readonly applicationId: string) {}

  addSource(
    name: string,
    topics: readonly string[],
    keySerde: Serde<unknown>,
    valueSerde: Serde<unknown>,
    timestampExtractor: TimestampExtractor<unknown, unknown> | null = null,
    options: { table?: boolean; idleTimeoutMs?: number | null } = {},
  ): void {
    if (topics.length === 0) {
      throw new TopologyError(`source '${name}' reads no topic: give stream() at least one`);
    }
    for (const t of topics) {
      const other = this.sourceByTopic.get(t);
      if (other !== undefined) {
        throw new TopologyError(
          `topic '${t}' is read by two sources ('${other}' and '${name}'): read it once and share the KStream, or merge()`,
        );
      }
      this.sourceByTopic.set(t, name);
    }
    this.add({
      kind: "source",
      name,
      order: this.nodes.size,
      topics: [...topics],
      keySerde,
      valueSerde,
      timestampExtractor,
      ...(options.table === true ? { table: true } : {}),
      idleTimeoutMs: options.idleTimeoutMs ?? null,
      predecessors: [],
      successors: [],
    } satisfies SourceSpec);
  }

  addProcessor(
    name: string,
    supplier: AnyProcessorSupplier,
    parents: readonly string[],
    description?: string,
  ): void {
    this.add({
      kind: "processor",
      name,
      order: this.nodes.size,
      supplier,
      stores: [],
      predecessors: [],
      successors: [],
      ...(description === undefined ? {} : { description }),
    });
    this.link(name, parents);
  }

  /**
   * Declares that the inputs of `processors` must be co-partitioned (a join): the source
   * topics upstream of them must have equal partition counts, checked by
   * Topology.checkCoPartitioning.
   */
  addCoPartitionGroup(join: string, processors: readonly string[]): void {
    this.coPartition.push({ join, processors: [...processors] });
  }

  addSink(
    name: string,
    topic: string,
    keySerde: Serde<unknown>,
    valueSerde: Serde<unknown>,
    parents: readonly string[],
  ): void {
    this.add({
      kind: "sink",
      name,
      order: this.nodes.size,
      topic,
      keySerde,
      valueSerde,
      predecessors: [],
      successors: [],
    } satisfies SinkSpec);
    this.link(name, parents);
  }

  /** Registers a store (once) and connects it to the processors that use it. */
  addStore(store: StoreSpec, processors: readonly string[]): void {
    const existing = this.stores.get(store.name);
    if (existing !== undefined && existing !== store) {
      throw new TopologyError(
        `two different stores are named '${store.name}': give each Materialized a distinct storeName`,
      );
    }
    this.stores.set(store.name, store);
    if (store.changelogTopic !== null) {
      this.addInternalTopic({
        name: store.changelogTopic,
        purpose: "changelog",
        partitions: null,
        cleanupPolicy: "compact",
      });
    }
    for (const p of processors) {
      const node = this.nodes.get(p);
      if (node === undefined || node.kind !== "processor") {
        throw new TopologyError(`store '${store.name}' is connected to unknown processor '${p}'`);
      }
      if (!node.stores.includes(store.name)) node.stores.push(store.name);
    }
  }

  /** Connects an already registered store (a table's) to more processors (joins). */
  connectStore(storeName: string, processors: readonly string[]): void {
    const store = this.stores.get(storeName);
    if (store === undefined) {
      throw new TopologyError(
        `store '${storeName}' is not registered: add it before connecting it`,
      );
    }
    this.addStore(store, processors);
  }

  /** Registers a global store (globalTable()); its topic is read by no sub-topology. */
  addGlobalStore(spec: GlobalStoreSpec): void {
    if (this.stores.has(spec.storeName) || this.globalStores.has(spec.storeName)) {
      throw new TopologyError(
        `two stores are named '${spec.storeName}': give each Materialized a distinct storeName`,
      );
    }
    const reader = this.sourceByTopic.get(spec.topic);
    if (reader !== undefined) {
      throw new TopologyError(
        `topic '${spec.topic}' is read by '${reader}' and as the global table '${spec.storeName}': read it once`,
      );
    }
    this.sourceByTopic.set(spec.topic, spec.sourceName);
    this.globalStores.set(spec.storeName, spec);
  }

  /** Lets processors read a global store (it joins no sub-topology to another). */
  connectGlobalStore(storeName: string, processors: readonly string[]): void {
    if (!this.globalStores.has(storeName)) {
      throw new TopologyError(`global store '${storeName}' is not registered`);
    }
    for (const p of processors) {
      const node = this.nodes.get(p);
      if (node === undefined || node.kind !== "processor") {
        throw new TopologyError(`store '${storeName}' is connected to unknown processor '${p}'`);
      }
      if (!node.stores.includes(storeName)) node.stores.push(storeName);
    }
  }

  addInternalTopic(topic: InternalTopicSpec): void {
    const existing = this.internalTopics.get(topic.name);
    if (existing !== undefined && existing.purpose !== topic.purpose) {
      throw new TopologyError(`internal topic '${topic.name}' is used for two purposes`);
    }
    this.internalTopics.set(topic.name, topic);
  }

  /** Builds the Topology; `outputTopic` renames the sinks that are not internal topics. */
  build(outputTopic?: (topic: string) => string): Topology {
    const list = [...this.nodes.values()].map((n) =>
      n.kind === "sink" && outputTopic !== undefined && !this.internalTopics.has(n.topic)
        ? { ...n, topic: outputTopic(n.topic) }
        : n,
    );
    // union-find over node indexes
    const parent = list.map((_, i) => i);
    const find = (i: number): number => {
      while (parent[i] !== i) {
        parent[i] = parent[parent[i]!]!;
        i = parent[i]!;
      }
      return i;
    };
    const union = (a: number, b: number) => {
      const ra = find(a);
      const rb = find(b);
      // the earlier node is the root, so a group is known by its first node
      if (ra < rb) parent[rb] = ra;
      else if (rb < ra) parent[ra] = rb;
    };
    const index = new Map(list.map((n, i) => [n.name, i]));
    const storeUser = new Map<string, number>();
    list.forEach((n, i) => {
      for (const p of n.predecessors) union(i, index.get(p)!);
      if (n.kind === "processor") {
        for (const s of n.stores) {
          if (this.globalStores.has(s)) continue;
          const other = storeUser.get(s);
          if (other === undefined) storeUser.set(s, i);
          else union(i, other);
        }
      }
    });
    const groups = new Map<number, NodeSpec[]>();
    list.forEach((n, i) => {
      const r = find(i);
      let g = groups.get(r);
      if (g === undefined) {
        g = [];
        groups.set(r, g);
      }
      g.push(n);
    });
    const roots = [...groups.keys()].sort((a, b) => a - b);
    const subtopologies = roots.map((r, id) => new SubTopology(id, groups.get(r)!, this.stores));
    for (const sub of subtopologies) {
      for (const t of sub.sinkTopics) {
        if (sub.sourceTopics.includes(t)) {
          throw new TopologyError(
            `sub-topology ${sub.id} both reads and writes topic '${t}': that loops records forever; write to another topic`,
          );
        }
      }
      if (sub.sources.size === 0) {
        throw new TopologyError(
          `sub-topology ${sub.id} (${sub.nodes[0]?.name}) has no source: every processor must descend from a stream() or table()`,
        );
      }
    }
    return new Topology(
      this.applicationId,
      subtopologies,
      new Map(this.stores),
      [...this.internalTopics.values()],
      this.coPartition.map((g) => ({ join: g.join, topics: this.sourceTopicsAbove(g.processors) })),
      [...this.globalStores.values()],
    );
  }

  /** Topics read by the sources upstream of these nodes (through edges, not stores), in
   * the order of the nodes and then of their inputs. */
  private sourceTopicsAbove(names: readonly string[]): string[] {
    const topics: string[] = [];
    const seen = new Set<string>();
    const visit = (name: string): void => {
      const n = this.nodes.get(name);
      if (n === undefined || seen.has(name)) return;
      seen.add(name);
      if (n.kind === "source") {
        for (const t of n.topics) if (!topics.includes(t)) topics.push(t);
      } else for (const p of n.predecessors) visit(p);
    };
    for (const n of names) visit(n);
    return topics;
  }

  private add(node: NodeSpec): void {
    if (this.nodes.has(node.name)) {
      throw new TopologyError(
        `two nodes are named '${node.name}': names given with { name } must be unique in a topology`,
      );
    }
    this.nodes.set(node.name, node);
  }

  private link(child: string, parents: readonly string[]): void {
    const c = this.nodes.get(child)!;
    for (const p of parents) {
      const pn = this.nodes.get(p);
      if (pn === undefined) {
        throw new TopologyError(`'${child}' names unknown parent '${p}'`);
      }
      if (pn.kind === "sink") throw new TopologyError(`sink '${p}' cannot have children`);
      pn.successors.push(child);
      c.predecessors.push(p);
    }
  }
}
