import {
  type Admin,
  type CommittedOffset,
  type CreateTopicOptions,
  GroupError,
  type GroupDescription,
  type GroupOffsetDescription,
  type GroupOverview,
  InvalidArgumentError,
  isInternalTopic,
  type OffsetResetPlanRow,
  type OffsetResetSpec,
  type OffsetSpec,
  type PartitionOffset,
  planOffsetReset,
  ProtocolError,
  type TopicDescription,
  UnknownTopicError,
  validateGroupId,
} from "@tributary/log";
import { FetchIsolationLevels } from "@platformatic/kafka";
import { fromKafkaError, kafkaErrorId } from "./errors.js";
import { groupStateOf } from "./group-state.js";
import type { KafkaCluster } from "./kafka-cluster.js";
import { DESCRIBED_CONFIG_NAMES, fromKafkaConfigs, toKafkaConfigs } from "./topic-configs.js";

/** ListOffsets' special timestamps (Kafka's protocol): -2 earliest, -1 latest. */
const EARLIEST = -2n;
const LATEST = -1n;
/** DescribeConfigs / IncrementalAlterConfigs resource type of a topic. */
const TOPIC_RESOURCE = 2;
/** How long admin calls wait for the cluster to show a topic created or deleted. */
const METADATA_SETTLE_MS = 15_000;

/**
 * LogClient's Admin over Kafka's admin APIs. Kafka applies topic creation and deletion
 * through its controller and the brokers learn of it a moment later, so `createTopic` and
 * `deleteTopic` return only once the cluster's metadata shows the change: code that creates
 * a topic and produces to it at once works as on the embedded log.
 *
 * What Kafka does not report: `segments` of a partition (-1), and a group's `generation`
 * (DescribeGroups has none: -1).
 */
export class KafkaAdmin implements Admin {
  constructor(private readonly cluster: KafkaCluster) {}

  private get kafka() {
    return this.cluster.client;
  }

  async createTopic(name: string, options: CreateTopicOptions): Promise<void> {
    this.cluster.checkTopicName(name);
    const partitions = options?.partitions;
    if (!Number.isSafeInteger(partitions) || partitions < 1) {
      throw new InvalidArgumentError(
        `topic '${name}': number of partitions must be a positive integer, got ${partitions}`,
      );
    }
    const configs = toKafkaConfigs(options.config);
    try {
      await this.kafka.createTopics({
        topics: [this.cluster.wire(name)],
        partitions,
        // -1: the broker's default.replication.factor, as kafka-topics does without --replication-factor.
        replicas: -1,
        configs,
      });
    } catch (err) {
      const e = fromKafkaError(err, `create topic '${name}'`, name);
      if (e.code === "TOPIC_EXISTS" && options.ifNotExists === true) return;
      throw e;
    }
    await this.waitFor(`topic '${name}' to appear`, async () => {
      try {
        const t = await this.cluster.topic(name, true);
        return t.partitions === partitions && t.leaders.every((l) => l >= 0);
      } catch (err) {
        if (err instanceof UnknownTopicError) return false;
        throw err;
      }
    });
  }

  async deleteTopic(name: string): Promise<void> {
    this.cluster.checkTopicName(name);
    try {
      await this.kafka.deleteTopics({ topics: [this.cluster.wire(name)] });
    } catch (err) {
      throw fromKafkaError(err, `delete topic '${name}'`, name);
    }
    const wire = this.cluster.wire(name);
    await this.waitFor(`topic '${name}' to go`, async () => {
      return !(await this.kafka.listTopics({ includeInternals: true })).includes(wire);
    });
    this.cluster.invalidate();
  }

  async listTopics(options: { includeInternal?: boolean } = {}): Promise<string[]> {
    let names: string[];
    try {
      names = await this.kafka.listTopics({ includeInternals: options.includeInternal === true });
    } catch (err) {
      throw fromKafkaError(err, "list topics");
    }
    const out: string[] = [];
    for (const wire of names) {
      const local = this.cluster.local(wire);
      if (local === undefined) continue;
      if (!options.includeInternal && isInternalTopic(local)) continue;
      out.push(local);
    }
    return out.sort();
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    this.cluster.checkTopicName(name);
    const info = await this.cluster.topic(name, true);
    const wire = info.wireName;
    const all = Array.from({ length: info.partitions }, (_, p) => p);
    try {
      const [starts, ends, logDirs, configs] = await Promise.all([
        this.offsetsAt(name, EARLIEST),
        this.offsetsAt(name, LATEST),
        this.kafka.describeLogDirs({ topics: [{ name: wire, partitions: all }] }),
        this.kafka.describeConfigs({
          resources: [
            {
              resourceType: TOPIC_RESOURCE,
              resourceName: wire,
              configurationKeys: [...DESCRIBED_CONFIG_NAMES],
            },
          ],
        }),
      ]);
      const sizes = new Map<number, number>();
      for (const broker of logDirs) {
        for (const dir of broker.results) {
          for (const t of dir.topics) {
            if (t.name !== wire) continue;
            // One replica's size: the partition's size as a user thinks of it.
            for (const p of t.partitions) {
              if (!sizes.has(p.partitionIndex))
                sizes.set(p.partitionIndex, Number(p.partitionSize));
            }
          }
        }
      }
      const entries = new Map<string, string | null>();
      for (const c of configs[0]?.configs ?? []) entries.set(c.name, c.value ?? null);
      return {
        name,
        partitions: all.map((p) => ({
          partition: p,
          logStartOffset: starts.get(p) ?? 0,
          logEndOffset: ends.get(p) ?? 0,
          sizeBytes: sizes.get(p) ?? 0,
          segments: -1,
        })),
        config: fromKafkaConfigs(entries),
        internal: isInternalTopic(name),
      };
    } catch (err) {
      throw fromKafkaError(err, `describe topic '${name}'`, name);
    }
  }

  async listOffsets(topic: string, spec: OffsetSpec): Promise<PartitionOffset[]> {
    let at: bigint;
    if (spec === "earliest") at = EARLIEST;
    else if (spec === "latest") at = LATEST;
    else if (
      typeof spec === "object" &&
      Number.isSafeInteger(spec.timestamp) &&
      spec.timestamp >= 0
    ) {
      at = BigInt(spec.timestamp);
    } else {
      throw new InvalidArgumentError(
        `listOffsets: expected "earliest", "latest" or { timestamp: ms >= 0 }, got ${JSON.stringify(spec)}`,
      );
    }
    const found = await this.offsetsAt(topic, at);
    // Kafka answers -1 when no record is that new; LogClient's answer is the log end, where
    // a reader starting there would wait for the next record.
    const missing = [...found.values()].some((o) => o < 0);
    const ends = missing ? await this.offsetsAt(topic, LATEST) : found;
    return [...found.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([partition, offset]) => ({
        topic,
        partition,
        offset: offset < 0 ? ends.get(partition)! : offset,
      }));
  }

  /**
   * partition → offset, for a Kafka ListOffsets timestamp (-2, -1 or ms). Under
   * `readCommitted`, latest (-1) is the last stable offset, as Kafka answers it.
   */
  async offsetsAt(topic: string, at: bigint, readCommitted = false): Promise<Map<number, number>> {
    this.cluster.checkTopicName(topic);
    const info = await this.cluster.topic(topic);
    try {
      const result = await this.kafka.listOffsets({
        ...(readCommitted ? { isolationLevel: FetchIsolationLevels.READ_COMMITTED } : {}),
        topics: [
          {
            name: info.wireName,
            partitions: Array.from({ length: info.partitions }, (_, p) => ({
              partitionIndex: p,
              timestamp: at,
            })),
          },
        ],
      });
      const out = new Map<number, number>();
      for (const t of result) {
        for (const p of t.partitions) out.set(p.partitionIndex, Number(p.offset));
      }
      return out;
    } catch (err) {
      throw fromKafkaError(err, `list offsets of '${topic}'`, topic);
    }
  }

  async listGroups(): Promise<GroupOverview[]> {
    try {
      const groups = await this.kafka.listGroups();
      const ids: string[] = [];
      for (const g of groups.values()) {
        if (g.protocolType !== "consumer" && g.protocolType !== "") continue;
        if (this.cluster.local(g.id) !== undefined) ids.push(g.id);
      }
      if (ids.length === 0) return [];
      const described = await this.kafka.describeGroups({ groups: ids });
      return ids
        .map((id) => {
          const d = described.get(id);
          return {
            groupId: this.cluster.local(id)!,
            state: d === undefined ? "Empty" : groupStateOf(d.state, d.members.size),
            members: d?.members.size ?? 0,
          };
        })
        .sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
    } catch (err) {
      throw fromKafkaError(err, "list groups");
    }
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    validateGroupId(groupId);
    const group = await this.describeOne(groupId);
    const committed = await this.fetchCommittedOffsets(groupId);
    const offsets: GroupOffsetDescription[] = [];
    const ends = new Map<string, Map<number, number> | null>();
    for (const c of committed) {
      let end = ends.get(c.topic);
      if (end === undefined) {
        end = await this.offsetsAt(c.topic, LATEST).catch((err) => {
          // Offsets of a deleted topic have no log end to measure lag from.
          if (err instanceof UnknownTopicError) return null;
          throw err;
        });
        ends.set(c.topic, end);
      }
      const logEndOffset = end?.get(c.partition);
      if (logEndOffset === undefined) continue;
      offsets.push({
        topic: c.topic,
        partition: c.partition,
        offset: c.offset,
        logEndOffset,
        lag: Math.max(0, logEndOffset - c.offset),
      });
    }
    const members = [...(group?.members.values() ?? [])].map((m) => ({
      memberId: m.id,
      clientId: m.clientId,
      assignment: [...(m.assignments?.values() ?? [])]
        .flatMap((a) =>
          a.partitions.map((partition) => ({
            topic: this.cluster.local(a.topic) ?? a.topic,
            partition,
          })),
        )
        .sort((a, b) =>
          a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
        ),
    }));
    return {
      groupId,
      state: groupStateOf(group?.state, group?.members.size ?? 0),
      generation: -1,
      assignor: group?.protocol ? group.protocol : null,
      members,
      offsets,
    };
  }

  async fetchCommittedOffsets(groupId: string, topics?: string[]): Promise<CommittedOffset[]> {
    validateGroupId(groupId);
    let partitionsOf: { name: string; partitionIndexes: number[] }[] | null = null;
    if (topics !== undefined) {
      const infos = await this.cluster.topics(topics);
      partitionsOf = [...infos.values()].map((t) => ({
        name: t.wireName,
        partitionIndexes: Array.from({ length: t.partitions }, (_, p) => p),
      }));
    }
    try {
      const result = await this.kafka.listConsumerGroupOffsets({
        groups: [{ groupId: this.cluster.wire(groupId), topics: partitionsOf }],
      });
      const out: CommittedOffset[] = [];
      for (const g of result) {
        for (const t of g.topics) {
          const topic = this.cluster.local(t.name);
          if (topic === undefined) continue;
          for (const p of t.partitions) {
            if (p.committedOffset < 0n) continue;
            const row: CommittedOffset = {
              topic,
              partition: p.partitionIndex,
              offset: Number(p.committedOffset),
            };
            if (p.metadata) row.metadata = p.metadata;
            out.push(row);
          }
        }
      }
      return out.sort((a, b) =>
        a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
      );
    } catch (err) {
      throw fromKafkaError(err, `fetch committed offsets of group '${groupId}'`);
    }
  }

  async resetOffsets(
    groupId: string,
    spec: OffsetResetSpec,
    options: { topics?: string[]; dryRun?: boolean } = {},
  ): Promise<OffsetResetPlanRow[]> {
    validateGroupId(groupId);
    await this.checkNoMembers(groupId, "reset its offsets");
    const committed = await this.fetchCommittedOffsets(groupId);
    const byKey = new Map(committed.map((c) => [`${c.topic}\u0000${c.partition}`, c.offset]));
    const topics = options.topics ?? [...new Set(committed.map((c) => c.topic))];
    const plan = await planOffsetReset(
      spec,
      topics,
      (topic, partition) => byKey.get(`${topic}\u0000${partition}`),
      {
        partitionCount: async (topic) => (await this.cluster.topic(topic)).partitions,
        listOffsets: (topic, s) => this.listOffsets(topic, s),
      },
      Date.now(),
    );
    if (options.dryRun === true || plan.length === 0) return plan;
    const byTopic = new Map<string, { partition: number; offset: bigint }[]>();
    for (const row of plan) {
      let list = byTopic.get(row.topic);
      if (list === undefined) {
        list = [];
        byTopic.set(row.topic, list);
      }
      list.push({ partition: row.partition, offset: BigInt(row.to) });
    }
    try {
      await this.kafka.alterConsumerGroupOffsets({
        groupId: this.cluster.wire(groupId),
        topics: [...byTopic].map(([topic, partitionOffsets]) => ({
          name: this.cluster.wire(topic),
          partitionOffsets,
        })),
      });
    } catch (err) {
      // Kafka refuses an admin commit while the group has members (UNKNOWN_MEMBER_ID):
      // someone joined between the check and the write.
      if (kafkaErrorId(err) === "UNKNOWN_MEMBER_ID")
        throw groupNotEmpty(groupId, "reset its offsets");
      throw fromKafkaError(err, `reset offsets of group '${groupId}'`);
    }
    return plan;
  }

  async deleteGroup(groupId: string): Promise<void> {
    validateGroupId(groupId);
    try {
      await this.kafka.deleteGroups({ groups: [this.cluster.wire(groupId)] });
    } catch (err) {
      const id = kafkaErrorId(err);
      if (id === "GROUP_ID_NOT_FOUND") {
        throw new InvalidArgumentError(
          `group '${groupId}' does not exist (tributary groups list shows the groups there are)`,
        );
      }
      if (id === "NON_EMPTY_GROUP") throw groupNotEmpty(groupId, "delete it");
      throw fromKafkaError(err, `delete group '${groupId}'`);
    }
  }

  private async checkNoMembers(groupId: string, what: string): Promise<void> {
    const group = await this.describeOne(groupId);
    if (group !== undefined && group.members.size > 0) throw groupNotEmpty(groupId, what);
  }

  private async describeOne(groupId: string) {
    const wire = this.cluster.wire(groupId);
    try {
      return (await this.kafka.describeGroups({ groups: [wire] })).get(wire);
    } catch (err) {
      throw fromKafkaError(err, `describe group '${groupId}'`);
    }
  }

  private async waitFor(what: string, done: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + METADATA_SETTLE_MS;
    for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
      if (await done()) return;
      if (Date.now() > deadline) {
        throw new ProtocolError(
          "TIMEOUT",
          `waited ${METADATA_SETTLE_MS} ms for ${what} in the Kafka cluster's metadata; the controller may be overloaded, retry`,
          { retriable: true },
        );
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

function groupNotEmpty(groupId: string, what: string): GroupError {
  return new GroupError(
    "GROUP_NOT_EMPTY",
    `group '${groupId}' has live members: stop its consumers before you ${what} (tributary groups describe ${groupId} lists them)`,
  );
}
