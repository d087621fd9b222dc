import {
  type AssignorName,
  type Consumer,
  type IsolationLevel,
  type LogClient,
  topicPartitionKey,
} from "@tributary/log";
import type { KeyValueBytesStore } from "@tributary/state";
import type { SubTopology, Topology } from "../topology/topology.js";
import { type PlacedTask, placeStandbys } from "./standby-placement.js";
import { type StandbyStore, StandbyTask } from "./standby-task.js";
import { StateDirSharing } from "./state-dir-sharing.js";

export interface StandbyTasksOptions {
  topology: Topology;
  stateDir: string;
  log: LogClient;
  /** num.standby.replicas: standbys per stateful task (on other workers). */
  replicas: number;
  /** The assignor the app's group runs (placement predicts its moves). */
  assignor: AssignorName;
  /** Exactly-once: standbys read the changelogs read_committed. */
  isolation?: IsolationLevel;
  /** The worker's group consumer: its member id names this worker in the group. */
  groupConsumer: () => Consumer | null;
  /** The tasks active (or suspended) here: never a standby here too. */
  activeTaskIds: () => readonly string[];
  clientId: string;
  warn: (message: string) => void;
  /** The set of standby tasks here changed. */
  onChange?: (taskIds: string[]) => void;
}

/** How often placement is recomputed from the group's description. */
const REFRESH_MS = 1000;
/** Longest one poll of the changelogs waits (bounds how long `claim` waits). */
const POLL_MS = 100;

/**
 * A worker's standby tasks (Kafka Streams' standby half of the TaskManager). It is
 * responsible for:
 * - knowing which stateful tasks this worker should hold warm: every REFRESH_MS it reads
 *   the group's members and assignment (`describeGroup`) and runs placeStandbys, the same
 *   pure function on every worker;
 * - opening those tasks' stores (StandbyTask) and closing the ones no longer placed here;
 * - reading their changelog partitions continuously with one consumer assigned by hand
 *   (no group) and applying them with their checkpoints;
 * - giving a task up at once when it becomes active here (`claim`), before the active
 *   task opens the same RocksDB directories;
 * - their stores' byte views and lag, for stale interactive queries.
 * Everything runs in one chain, so an open, a poll's writes and a close never overlap.
 */
export class StandbyTasks {
  private readonly tasks = new Map<string, StandbyTask>();
  private readonly byChangelog = new Map<string, { task: StandbyTask; store: StandbyStore }>();
  private claimed = new Set<string>();
  private consumer: Consumer | null = null;
  private chain: Promise<void> = Promise.resolve();
  private loop: Promise<void> | null = null;
  private running = false;
  private refreshedAt = 0;
  private counts: Map<string, number> | null = null;
  private readonly stateful: SubTopology[];
  private readonly sharing: StateDirSharing;
  /** Other live workers use this state directory: no standbys (see refresh). */
  private shared = false;
  /** Changelog records applied by standbys since start. */
  recordsApplied = 0;

  constructor(private readonly options: StandbyTasksOptions) {
    this.stateful = options.topology.subtopologies.filter((s) =>
      s.stores.some((x) => x.changelogTopic !== null),
    );
    this.sharing = new StateDirSharing(options.stateDir, options.topology.applicationId);
  }

  get enabled(): boolean {
    return this.options.replicas > 0 && this.stateful.length > 0;
  }

  start(): void {
    if (!this.enabled || this.running) return;
    this.running = true;
    this.sharing.enter();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.exclusive(async () => {
      for (const id of [...this.tasks.keys()]) await this.closeTask(id);
      await this.consumer?.close().catch(() => {});
      this.consumer = null;
    });
    this.sharing.leave();
  }

  /**
   * These tasks are about to be active here: their standbys close now (the active opens
   * their directories next) and none opens for them until the next claim.
   */
  claim(taskIds: readonly string[]): Promise<void> {
    this.claimed = new Set(taskIds);
    if (!this.enabled) return Promise.resolve();
    return this.exclusive(async () => {
      let changed = false;
      for (const id of taskIds)
        if (this.tasks.has(id)) changed = (await this.closeTask(id)) || changed;
      if (changed) await this.reassign();
    });
  }

  taskIds(): string[] {
    return [...this.tasks.keys()].sort();
  }

  /** Per standby task, changelog records behind the log end. */
  lags(): Record<string, number> {
    return Object.fromEntries([...this.tasks].map(([id, t]) => [id, t.lag()]));
  }

  lagOf(taskId: string): number | undefined {
    return this.tasks.get(taskId)?.lag();
  }

  /** A standby store's bytes, for a stale query (undefined: no standby of it here). */
  bytesOf(taskId: string, store: string): KeyValueBytesStore | undefined {
    return this.tasks.get(taskId)?.bytesOf(store);
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.exclusive(() => this.step());
      } catch (e) {
        this.options.warn(`standby tasks: ${e instanceof Error ? e.message : String(e)}; retrying`);
        await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
      }
    }
  }

  private async step(): Promise<void> {
    if (Date.now() - this.refreshedAt >= REFRESH_MS) {
      this.refreshedAt = Date.now();
      await this.refresh();
    }
    const consumer = this.consumer;
    if (consumer === null || this.byChangelog.size === 0) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      return;
    }
    for (const f of await consumer.poll({ maxWaitMs: POLL_MS })) {
      const held = this.byChangelog.get(topicPartitionKey(f.topic, f.partition));
      if (held === undefined) continue;
      const last = f.records.at(-1);
      const next = consumer.position(f) ?? (last === undefined ? f.highWatermark : last.offset + 1);
      this.recordsApplied += await held.task.apply(held.store, f, next);
    }
  }

  /** Opens and closes standbys to match the placement of the group as it stands. */
  private async refresh(): Promise<void> {
    // A standby copy lives in the directory its active task would use on this worker; a
    // worker sharing the state directory would find its active task's lock held by our
    // copy. Such workers have the state at hand anyway: no standbys while they share.
    const others = this.sharing.others();
    if (others.length > 0) {
      if (!this.shared) {
        this.options.warn(
          `standby replicas are off on this worker: processes ${others.join(", ")} run workers of app '${this.options.topology.applicationId}' in the same state directory ${this.options.stateDir} (give each worker its own for standbys; tributary run does)`,
        );
      }
      this.shared = true;
      let changed = false;
      for (const id of [...this.tasks.keys()]) changed = (await this.closeTask(id)) || changed;
      if (changed) await this.reassign();
      return;
    }
    this.shared = false;
    const group = this.options.groupConsumer();
    if (group === null) return;
    let memberId: string;
    try {
      memberId = group.groupMetadata().memberId;
    } catch {
      return; // not joined yet
    }
    const { topology, log } = this.options;
    const described = await log.admin.describeGroup(topology.applicationId);
    if (described.state !== "Stable") return;
    const topics = [...new Set(topology.subtopologies.flatMap((s) => s.sourceTopics))].sort();
    this.counts ??= new Map(
      await Promise.all(
        topics.map(async (t) => [t, (await log.admin.describeTopic(t)).partitions.length] as const),
      ),
    );
    const placed: PlacedTask[] = [];
    const subOf = new Map<string, { sub: SubTopology; partition: number }>();
    for (const sub of this.stateful) {
      const topic = sub.sourceTopics[0]!;
      for (let p = 0; p < (this.counts.get(topic) ?? 0); p++) {
        placed.push({ taskId: sub.taskId(p), input: { topic, partition: p } });
        subOf.set(sub.taskId(p), { sub, partition: p });
      }
    }
    const plan = placeStandbys(
      described.members,
      topics,
      this.counts,
      this.options.assignor,
      placed,
      this.options.replicas,
    );
    const active = new Set(this.options.activeTaskIds());
    const wanted = new Set(
      (plan.get(memberId) ?? []).filter((id) => !active.has(id) && !this.claimed.has(id)),
    );
    let changed = false;
    for (const id of [...this.tasks.keys()]) {
      if (!wanted.has(id)) changed = (await this.closeTask(id)) || changed;
    }
    for (const id of wanted) {
      if (this.tasks.has(id)) continue;
      const { sub, partition } = subOf.get(id)!;
      try {
        const task = await StandbyTask.open(sub, partition, {
          applicationId: topology.applicationId,
          stateDir: this.options.stateDir,
          log,
          warn: this.options.warn,
        });
        this.tasks.set(id, task);
        for (const store of task.stores.values()) {
          this.byChangelog.set(
            topicPartitionKey(store.changelog.topic, store.changelog.partition),
            {
              task,
              store,
            },
          );
        }
        changed = true;
      } catch (e) {
        // the active task that moved away still closes its stores here: next refresh
        if ((e as { code?: string }).code !== "STORE_LOCKED") throw e;
      }
    }
    if (changed) await this.reassign();
  }

  /** The changelog consumer assigned to every standby store, each at its checkpoint. */
  private async reassign(): Promise<void> {
    const { log, clientId, isolation } = this.options;
    this.consumer ??= log.consumer({
      clientId: `${clientId}-standby`,
      ...(isolation === undefined ? {} : { isolation }),
    });
    const positions = (
      await Promise.all([...this.tasks.values()].map((t) => t.positions(log)))
    ).flat();
    this.consumer.assign(positions.map((p) => p.tp));
    for (const p of positions) this.consumer.seek(p.tp, p.offset);
    this.options.onChange?.(this.taskIds());
  }

  private async closeTask(id: string): Promise<boolean> {
    const task = this.tasks.get(id);
    if (task === undefined) return false;
    this.tasks.delete(id);
    for (const s of task.stores.values()) {
      this.byChangelog.delete(topicPartitionKey(s.changelog.topic, s.changelog.partition));
    }
    await task.close();
    return true;
  }

  private exclusive(op: () => Promise<void>): Promise<void> {
    const next = this.chain.then(op);
    this.chain = next.catch(() => {});
    return next;
  }
}
