import { type LogClient, partitionForKey } from "@tributary/log";
import { QueryError } from "../errors.js";
import type { StoreSpec } from "../topology/node-spec.js";
import type { SubTopology, Topology } from "../topology/topology.js";
import type { KeyParam } from "./query-protocol.js";

/** A queryable store of a topology: its spec and the sub-topology whose tasks hold it. */
export interface RoutedStore {
  readonly spec: StoreSpec;
  readonly sub: SubTopology;
}

/** The store named `name`, or a QueryError UNKNOWN_STORE listing the queryable ones. */
export function routedStore(topology: Topology, name: string): RoutedStore {
  for (const sub of topology.subtopologies) {
    const spec = sub.stores.find((s) => s.name === name);
    if (spec !== undefined) return { spec, sub };
  }
  const known = topology.subtopologies.flatMap((s) => s.stores.map((x) => x.name)).sort();
  throw new QueryError(
    "UNKNOWN_STORE",
    `app '${topology.applicationId}' has no store named '${name}' (stores: ${known.length === 0 ? "none" : known.join(", ")})`,
  );
}

/**
 * Partition counts of the sub-topologies' inputs, looked up once each: a store's key
 * lives in partition murmur2(serialized key) % that count of its sub-topology, the
 * partitioner the sinks and repartition topics use to put the key there.
 */
export class PartitionCounts {
  private readonly counts = new Map<string, Promise<number>>();

  constructor(private readonly log: LogClient) {}

  of(sub: SubTopology): Promise<number> {
    const topic = sub.sourceTopics[0]!;
    let n = this.counts.get(topic);
    if (n === undefined) {
      n = this.log.admin.describeTopic(topic).then((d) => d.partitions.length);
      n.catch(() => this.counts.delete(topic));
      this.counts.set(topic, n);
    }
    return n;
  }

  async partitionOf(sub: SubTopology, keyBytes: Buffer): Promise<number> {
    return partitionForKey(keyBytes, await this.of(sub));
  }
}

/** A key as the store holds it: serialized by the store's key serde, or the bytes given. */
export function keyBytesOf(spec: StoreSpec, param: KeyParam, what = "key"): Buffer {
  if ("b64" in param && typeof param.b64 === "string") {
    const bytes = Buffer.from(param.b64, "base64");
    try {
      spec.keySerde.deserialize(bytes);
    } catch (e) {
      throw new QueryError(
        "BAD_KEY",
        `${what} bytes are not a key of store '${spec.name}': ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    return bytes;
  }
  if (!("json" in param)) {
    throw new QueryError("BAD_REQUEST", `${what} must be { "json": <key> } or { "b64": <bytes> }`);
  }
  let bytes: Buffer | null;
  try {
    bytes = spec.keySerde.serialize(param.json as never);
  } catch (e) {
    throw new QueryError(
      "BAD_KEY",
      `${what} ${JSON.stringify(param.json)?.slice(0, 200)} cannot be serialized by the key serde of store '${spec.name}': ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  if (bytes === null) {
    throw new QueryError("BAD_KEY", `${what} of store '${spec.name}' serialized to null`);
  }
  return bytes;
}
