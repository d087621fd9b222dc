import type { Admin } from "@tributary/log";
import type { Topology } from "@tributary/streams";

/**
 * Decides when `run --until-caught-up` is done: every input partition's committed offset
 * has reached the end it had when the run started, and every repartition topic is fully
 * consumed. Committed offsets are read before the ends they are compared with: a worker
 * commits input only after what it sent downstream was acknowledged, so records made from
 * committed input are already inside the ends read afterwards, and a chain of repartition
 * topics settles from the first to the last.
 */
export class CaughtUpTracker {
  private constructor(
    private readonly admin: Admin,
    private readonly applicationId: string,
    private readonly inputEnds: ReadonlyMap<string, number>,
    private readonly repartitionTopics: readonly string[],
  ) {}

  /** Snapshots the input end offsets: the history this run has to get through. */
  static async start(admin: Admin, topology: Topology): Promise<CaughtUpTracker> {
    const ends = new Map<string, number>();
    for (const topic of new Set(topology.sourceTopics())) {
      for (const o of await admin.listOffsets(topic, "latest"))
        ends.set(`${o.topic}\0${o.partition}`, o.offset);
    }
    return CaughtUpTracker.to(admin, topology, ends);
  }

  /**
   * Tracks an app's way to given input offsets (`topic\0partition` -> offset) with its
   * repartition topics drained: a version catching up to where the live app stopped; with
   * no offsets, only the drain (the live app, its inputs stopped).
   */
  static to(
    admin: Admin,
    topology: Topology,
    offsets: ReadonlyMap<string, number>,
  ): CaughtUpTracker {
    const repartition = topology.internalTopics
      .filter((t) => t.purpose === "repartition")
      .map((t) => t.name);
    return CaughtUpTracker.of(admin, topology.applicationId, offsets, repartition);
  }

  /** The same, for an app known by its id and repartition topics (no topology file). */
  static of(
    admin: Admin,
    applicationId: string,
    offsets: ReadonlyMap<string, number>,
    repartitionTopics: readonly string[],
  ): CaughtUpTracker {
    return new CaughtUpTracker(admin, applicationId, offsets, repartitionTopics);
  }

  /**
   * Records still to process (input up to the start ends, plus repartition topics up to
   * their current ends), and whether that is none.
   */
  async remaining(): Promise<{ remaining: number; caughtUp: boolean }> {
    const committed = new Map(
      (await this.admin.fetchCommittedOffsets(this.applicationId)).map((c) => [
        `${c.topic}\0${c.partition}`,
        c.offset,
      ]),
    );
    let remaining = 0;
    for (const [tp, end] of this.inputEnds)
      remaining += Math.max(0, end - (committed.get(tp) ?? 0));
    let started = true;
    for (const topic of this.repartitionTopics) {
      let ends: { partition: number; offset: number }[];
      try {
        ends = await this.admin.listOffsets(topic, "latest");
      } catch {
        started = false; // not created yet: the workers are still starting
        continue;
      }
      for (const o of ends) {
        remaining += Math.max(0, o.offset - (committed.get(`${topic}\0${o.partition}`) ?? 0));
      }
    }
    return { remaining, caughtUp: started && remaining === 0 };
  }
}
