import { eventTimeFlow } from "./event-time-flow.js";
import type { Topology } from "./topology.js";

/** One node as describe() reports it. */
export type NodeDescription =
  | { type: "source"; name: string; topics: string[]; successors: string[] }
  | {
      type: "processor";
      name: string;
      stores: string[];
      predecessors: string[];
      successors: string[];
      /** Windows, join kind or suppression, when the processor has them. */
      detail?: string;
    }
  | { type: "sink"; name: string; topic: string; predecessors: string[] };

export interface SubtopologyDescription {
  id: number;
  nodes: NodeDescription[];
  /** How its tasks keep event time on a worker (see event-time-flow.ts). */
  eventTime: string;
}

/** A global table's store, read in full by every worker from `topic` (its changelog). */
export interface GlobalStoreDescription {
  name: string;
  topic: string;
  source: string;
  processor: string;
}

export interface StoreDescription {
  name: string;
  changelogTopic: string | null;
  subtopology: number;
  /** Absent for key-value stores. */
  type?: "window" | "session";
  /** Window and session stores: how long entries are kept. */
  retentionMs?: number;
}

/**
 * The shape of a compiled topology, as data (for tools and tests), as text in the layout
 * of Kafka Streams' TopologyDescription (`toString()`), and as a Mermaid flowchart
 * (`toMermaid()`), which the CLI draws.
 */
export class TopologyDescription {
  readonly applicationId: string;
  readonly subtopologies: SubtopologyDescription[];
  readonly stores: StoreDescription[];
  readonly internalTopics: { name: string; purpose: "repartition" | "changelog" }[];
  readonly coPartitionGroups: { join: string; topics: string[] }[];
  readonly globalStores: GlobalStoreDescription[];

  constructor(topology: Topology) {
    this.globalStores = topology.globalStores.map((g) => ({
      name: g.storeName,
      topic: g.topic,
      source: g.sourceName,
      processor: g.processorName,
    }));
    this.applicationId = topology.applicationId;
    this.subtopologies = topology.subtopologies.map((s) => ({
      id: s.id,
      eventTime: eventTimeFlow(topology, s),
      nodes: s.nodes.map((n): NodeDescription => {
        switch (n.kind) {
          case "source":
            return {
              type: "source",
              name: n.name,
              topics: [...n.topics],
              successors: [...n.successors],
            };
          case "processor":
            return {
              type: "processor",
              name: n.name,
              stores: [...n.stores],
              predecessors: [...n.predecessors],
              successors: [...n.successors],
              ...(n.description === undefined ? {} : { detail: n.description }),
            };
          default:
            return {
              type: "sink",
              name: n.name,
              topic: n.topic,
              predecessors: [...n.predecessors],
            };
        }
      }),
    }));
    this.stores = [...topology.stores.values()].map((st) => ({
      name: st.name,
      changelogTopic: st.changelogTopic,
      subtopology: topology.subtopologies.find((s) => s.stores.includes(st))?.id ?? -1,
      ...(st.type === "key-value" ? {} : { type: st.type }),
      ...(st.retentionMs === undefined ? {} : { retentionMs: st.retentionMs }),
    }));
    this.coPartitionGroups = topology.coPartitionGroups.map((g) => ({
      join: g.join,
      topics: [...g.topics],
    }));
    this.internalTopics = topology.internalTopics.map((t) => ({
      name: t.name,
      purpose: t.purpose,
    }));
  }

  /*
   * Text layout (Kafka's TopologyDescription):
   *   Topologies:
   *      Sub-topology: <id>
   *       Source: <name> (topics: [<t>, …])
   *         --> <successor>, … | none
   *       Processor: <name> (stores: [<s>, …])
   *         ~~~ <detail>                    (windows, join kind, suppression; if any)
   *         --> <successor>, … | none
   *         <-- <predecessor>, …
   *       Sink: <name> (topic: <t>)
   *         <-- <predecessor>, …
   *       Event time: <how its tasks keep it>
   *   Global stores:                      (if any; no tasks, every worker reads them whole)
   *       Source: <name> (topics: [<t>])
   *         --> <processor>
   *       Processor: <name> (stores: [<global store>])
   *         <-- <source>
   */
  toString(): string {
    const lines = ["Topologies:"];
    for (const s of this.subtopologies) {
      lines.push(`   Sub-topology: ${s.id}`);
      for (const n of s.nodes) {
        if (n.type === "source") {
          lines.push(`    Source: ${n.name} (topics: [${n.topics.join(", ")}])`);
          lines.push(`      --> ${list(n.successors)}`);
        } else if (n.type === "processor") {
          lines.push(`    Processor: ${n.name} (stores: [${n.stores.join(", ")}])`);
          if (n.detail !== undefined) lines.push(`      ~~~ ${n.detail}`);
          lines.push(`      --> ${list(n.successors)}`);
          lines.push(`      <-- ${list(n.predecessors)}`);
        } else {
          lines.push(`    Sink: ${n.name} (topic: ${n.topic})`);
          lines.push(`      <-- ${list(n.predecessors)}`);
        }
      }
      lines.push(`    Event time: ${s.eventTime}`);
      lines.push("");
    }
    if (this.globalStores.length > 0) {
      lines.push("Global stores:");
      for (const g of this.globalStores) {
        lines.push(`    Source: ${g.source} (topics: [${g.topic}])`);
        lines.push(`      --> ${g.processor}`);
        lines.push(`    Processor: ${g.processor} (stores: [${g.name}])`);
        lines.push(
          "      ~~~ global: every worker reads all partitions; the topic is its changelog",
        );
        lines.push(`      <-- ${g.source}`);
      }
      lines.push("");
    }
    const windowed = this.stores.filter((s) => s.type !== undefined);
    if (windowed.length > 0) {
      lines.push("Window and session stores:");
      for (const s of windowed) {
        lines.push(
          `    ${s.type} store ${s.name} (retention: ${s.retentionMs}ms, changelog: ${s.changelogTopic ?? "none"})`,
        );
      }
      lines.push("");
    }
    if (this.coPartitionGroups.length > 0) {
      lines.push("Co-partitioned joins:");
      for (const g of this.coPartitionGroups) lines.push(`    ${g.join}: [${g.topics.join(", ")}]`);
      lines.push("");
    }
    return lines.join("\n");
  }

  /**
   * A Mermaid flowchart: one subgraph per sub-topology, topics as parallelograms (so a
   * repartition topic visibly joins two sub-topologies), stores as cylinders.
   */
  toMermaid(): string {
    const lines = ["flowchart TD"];
    const ids = new Map<string, string>();
    const id = (kind: string, name: string) => {
      const k = `${kind}:${name}`;
      let v = ids.get(k);
      if (v === undefined) {
        v = `${kind}${ids.size}`;
        ids.set(k, v);
      }
      return v;
    };
    const edges: string[] = [];
    const topics = new Set<string>();
    const stores = new Set<string>();
    for (const s of this.subtopologies) {
      lines.push(`  subgraph sub${s.id}["Sub-topology ${s.id}"]`);
      for (const n of s.nodes) {
        lines.push(`    ${id("n", n.name)}["${quote(n.name)}"]`);
        if (n.type === "source") {
          for (const t of n.topics) {
            topics.add(t);
            edges.push(`  ${id("t", t)} --> ${id("n", n.name)}`);
          }
        } else if (n.type === "sink") {
          topics.add(n.topic);
          edges.push(`  ${id("n", n.name)} --> ${id("t", n.topic)}`);
        } else {
          for (const st of n.stores) {
            stores.add(st);
            edges.push(`  ${id("n", n.name)} -.- ${id("s", st)}`);
          }
        }
        if (n.type !== "sink") {
          for (const c of n.successors) edges.push(`  ${id("n", n.name)} --> ${id("n", c)}`);
        }
      }
      lines.push("  end");
    }
    for (const g of this.globalStores) {
      topics.add(g.topic);
      stores.add(g.name);
      edges.push(`  ${id("t", g.topic)} ==> ${id("s", g.name)}`);
    }
    for (const t of topics) lines.push(`  ${id("t", t)}[/"${quote(t)}"/]`);
    for (const st of stores) lines.push(`  ${id("s", st)}[("${quote(st)}")]`);
    lines.push(...edges);
    return `${lines.join("\n")}\n`;
  }
}

function list(names: string[]): string {
  return names.length === 0 ? "none" : names.join(", ");
}

function quote(s: string): string {
  return s.replace(/"/g, "#quot;");
}
