import type { Admin } from "@tributary/log";
import type { Topology } from "@tributary/streams";

/**
 * An app's lag as its consumer group's committed offsets tell it: over every partition
 * of its input and repartition topics, the log end minus the committed offset (the
 * earliest offset where nothing is committed, as the workers start there). What `run`
 * shows while a worker is down or not yet reporting: the workers' own figures then miss
 * the partitions nobody is fetching, which is exactly where the lag grows.
 */
export async function committedLag(admin: Admin, topology: Topology): Promise<number> {
  const committed = new Map(
    (await admin.fetchCommittedOffsets(topology.applicationId)).map((c) => [
      `${c.topic}\0${c.partition}`,
      c.offset,
    ]),
  );
  let lag = 0;
  for (const topic of new Set(topology.subtopologies.flatMap((s) => s.sourceTopics))) {
    let ends: { partition: number; offset: number }[];
    let earliest: Map<number, number>;
    try {
      ends = await admin.listOffsets(topic, "latest");
      earliest = new Map(
        (await admin.listOffsets(topic, "earliest")).map((o) => [o.partition, o.offset]),
      );
    } catch {
      continue; // a repartition topic the workers have not created yet
    }
    for (const o of ends) {
      const from = committed.get(`${topic}\0${o.partition}`) ?? earliest.get(o.partition) ?? 0;
      lag += Math.max(0, o.offset - from);
    }
  }
  return lag;
}
