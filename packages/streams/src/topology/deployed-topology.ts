import type { Topology } from "./topology.js";

/** The version of the record below; a reader refuses versions it does not know. */
export const DEPLOYED_TOPOLOGY_VERSION = 1;

/** A store as a deploy plan compares it: what its state means on disk and in its changelog. */
export interface DeployedStore {
  name: string;
  type: "key-value" | "window" | "session";
  /** Serde names (`Serde.name`, "custom" when a serde has none). */
  keySerde: string;
  valueSerde: string;
  changelogTopic: string | null;
  /** The sub-topology that holds it (its tasks' ids start with this number). */
  subtopology: number;
  /** The input topics of that sub-topology: where the store's keys come from. */
  inputs: string[];
  /** The windowing of the processor that writes it ("tumbling 60000ms, grace 0ms", …). */
  windowing: string | null;
  retentionMs: number | null;
  /** The name was made by a counter (`…-0000000003`), so it moves when operators are added. */
  generatedName: boolean;
}

export interface DeployedRepartitionTopic {
  name: string;
  /** Read by this sub-topology. */
  readBy: number;
  generatedName: boolean;
}

/**
 * What `tributary run` records of an app's topology in the log when it deploys it, and what
 * `tributary plan` compares a topology file against. JSON, one record per application id in
 * the compacted topic `_tributary_topologies` (format in docs/formats.md):
 *
 *   { version: 1, applicationId, deployedAt: epoch ms, description: the text of describe(),
 *     sources: [topic], sinks: [topic], stores: [DeployedStore], repartitionTopics: [...] }
 */
export interface DeployedTopology {
  version: number;
  applicationId: string;
  deployedAt: number;
  description: string;
  sources: string[];
  sinks: string[];
  stores: DeployedStore[];
  repartitionTopics: DeployedRepartitionTopic[];
}

const GENERATED = /\d{10}$/;

/** The record `tributary run` keeps of a topology it deploys. */
export function deployedTopology(topology: Topology, deployedAt = Date.now()): DeployedTopology {
  const stores: DeployedStore[] = [];
  for (const spec of topology.stores.values()) {
    const sub = topology.subtopologies.find((s) => s.stores.includes(spec));
    const writer = sub?.nodes.find((n) => n.kind === "processor" && n.stores.includes(spec.name));
    const detail = writer?.kind === "processor" ? writer.description : undefined;
    stores.push({
      name: spec.name,
      type: spec.type,
      keySerde: spec.keySerde.name ?? "custom",
      valueSerde: spec.valueSerde.name ?? "custom",
      changelogTopic: spec.changelogTopic,
      subtopology: sub?.id ?? -1,
      inputs: sub === undefined ? [] : [...sub.sourceTopics].sort(),
      windowing: spec.type === "key-value" ? null : (detail ?? null),
      retentionMs: spec.retentionMs ?? null,
      generatedName: GENERATED.test(spec.name),
    });
  }
  const repartitionTopics = topology.internalTopics
    .filter((t) => t.purpose === "repartition")
    .map((t) => ({
      name: t.name,
      readBy: topology.subtopologies.find((s) => s.sourceTopics.includes(t.name))?.id ?? -1,
      generatedName: GENERATED.test(t.name.replace(/-repartition$/, "")),
    }));
  return {
    version: DEPLOYED_TOPOLOGY_VERSION,
    applicationId: topology.applicationId,
    deployedAt,
    description: topology.describe().toString(),
    sources: [...new Set(topology.sourceTopics())].sort(),
    sinks: topology.sinkTopics().sort(),
    stores,
    repartitionTopics,
  };
}
