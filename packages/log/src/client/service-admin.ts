import type {
  Admin,
  CommittedOffset,
  CreateTopicOptions,
  GroupDescription,
  GroupOverview,
  OffsetResetPlanRow,
  OffsetResetSpec,
  OffsetSpec,
  PartitionOffset,
  TopicDescription,
} from "./log-client.js";
import type { LogService } from "./log-service.js";
import type { MetadataCache } from "./metadata-cache.js";

/** Admin over a LogService: the service validates, this keeps the client's cache honest. */
export class ServiceAdmin implements Admin {
  constructor(
    private readonly service: LogService,
    private readonly metadata: MetadataCache,
  ) {}

  async createTopic(name: string, options: CreateTopicOptions): Promise<void> {
    this.metadata.invalidate(name);
    await this.service.createTopic(name, options);
  }

  async deleteTopic(name: string): Promise<void> {
    this.metadata.invalidate(name);
    await this.service.deleteTopic(name);
  }

  listTopics(options: { includeInternal?: boolean } = {}): Promise<string[]> {
    return this.service.listTopics(options.includeInternal ?? false);
  }

  describeTopic(name: string): Promise<TopicDescription> {
    return this.service.describeTopic(name);
  }

  listOffsets(topic: string, spec: OffsetSpec): Promise<PartitionOffset[]> {
    return this.service.listOffsets(topic, spec);
  }

  listGroups(): Promise<GroupOverview[]> {
    return this.service.listGroups();
  }

  describeGroup(groupId: string): Promise<GroupDescription> {
    return this.service.describeGroup(groupId);
  }

  fetchCommittedOffsets(groupId: string, topics?: string[]): Promise<CommittedOffset[]> {
    return this.service.fetchOffsets(groupId, topics);
  }

  resetOffsets(
    groupId: string,
    spec: OffsetResetSpec,
    options: { topics?: string[]; dryRun?: boolean } = {},
  ): Promise<OffsetResetPlanRow[]> {
    return this.service.resetOffsets(groupId, spec, options);
  }

  deleteGroup(groupId: string): Promise<void> {
    return this.service.deleteGroup(groupId);
  }
}
