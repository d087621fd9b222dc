import { InvalidArgumentError, InvalidConfigError, ProtocolError } from "../errors.js";
import type { CreateTopicOptions, OffsetSpec } from "../client/log-client.js";
import type { LogService } from "../client/log-service.js";
import { DEFAULT_TOPIC_CONFIG, type TopicConfig, kafkaConfigName } from "../topic-config.js";
import { ApiKey } from "./protocol.js";
import { checkIsolation } from "../client/isolation-level.js";

/**
 * Turns one decoded request body into a LogService call. The broker trusts nothing from
 * the wire: every field the service relies on is type-checked here, so a malformed request
 * gets INVALID_ARGUMENT back instead of reaching the log as `undefined`. Semantic checks
 * (topic names, partition ranges, fencing) stay with the service, which makes them the
 * same for embedded and remote callers.
 */
export type RequestHandler = (service: LogService, body: Body) => Promise<unknown>;

type Body = Record<string, unknown>;

function field<T>(
  body: Body,
  name: string,
  check: (v: unknown) => boolean,
  what: string,
  optional = false,
): T {
  const v = body[name];
  if (v === undefined && optional) return v as T;
  if (!check(v)) {
    throw new InvalidArgumentError(
      `request field '${name}' must be ${what}, got ${v === null ? "null" : typeof v}`,
    );
  }
  return v as T;
}

const isStr = (v: unknown) => typeof v === "string";
const isInt = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v);
const isBool = (v: unknown) => typeof v === "boolean";
const isObj = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);
const isArr = (v: unknown) => Array.isArray(v);
const isBuf = (v: unknown) => v instanceof Uint8Array;
const isStrArr = (v: unknown) => Array.isArray(v) && v.every(isStr);

const str = (b: Body, n: string) => field<string>(b, n, isStr, "a string");
const int = (b: Body, n: string) => field<number>(b, n, isInt, "an integer");
const obj = (b: Body, n: string) => field<Body>(b, n, isObj, "a map");
const arr = <T>(b: Body, n: string) => field<T[]>(b, n, isArr, "an array");
const optStrArr = (b: Body, n: string) =>
  field<string[] | undefined>(b, n, isStrArr, "an array of strings", true);

function member(b: Body) {
  return {
    groupId: str(b, "groupId"),
    memberId: str(b, "memberId"),
    generation: int(b, "generation"),
  };
}

function txnProducer(b: Body) {
  return {
    transactionalId: str(b, "transactionalId"),
    producerId: int(b, "producerId"),
    producerEpoch: int(b, "producerEpoch"),
  };
}

function objects<T>(list: unknown[], what: string): T[] {
  for (const item of list) {
    if (!isObj(item)) throw new InvalidArgumentError(`every ${what} must be a map`);
  }
  return list as T[];
}

/**
 * CreateTopic options: partitions, ifNotExists, and a config map whose keys are
 * TopicConfig fields (camelCase, as the embedded API takes them) with values of the
 * field's type. Ranges are the service's to check (validateTopicConfig).
 */
function createTopicOptions(b: Body): CreateTopicOptions {
  const o = obj(b, "options");
  const options: CreateTopicOptions = { partitions: int(o, "partitions") };
  const ifNotExists = field<boolean | undefined>(o, "ifNotExists", isBool, "a boolean", true);
  if (ifNotExists !== undefined) options.ifNotExists = ifNotExists;
  if (o.config === undefined) return options;
  if (!isObj(o.config)) {
    throw new InvalidConfigError(
      `topic config must be a map of config fields to values, got ${describe(o.config)}`,
    );
  }
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(o.config as Body)) {
    if (!Object.hasOwn(DEFAULT_TOPIC_CONFIG, key)) {
      throw new InvalidConfigError(
        `unknown topic config field '${key}': known are ${Object.keys(DEFAULT_TOPIC_CONFIG).join(", ")}`,
      );
    }
    if (value === undefined) continue;
    const want = typeof DEFAULT_TOPIC_CONFIG[key as keyof TopicConfig];
    if (typeof value !== want) {
      throw new InvalidConfigError(
        `topic config ${key} (${kafkaConfigName(key as keyof TopicConfig)}) must be a ${want}, got ${describe(value)}`,
      );
    }
    config[key] = value;
  }
  options.config = config as Partial<TopicConfig>;
  return options;
}

/** "earliest", "latest" or { timestamp: integer }; anything else is refused, not read as latest. */
function offsetSpec(b: Body): OffsetSpec {
  const spec = b.spec;
  if (spec === "earliest" || spec === "latest") return spec;
  if (isObj(spec) && isInt((spec as Body).timestamp)) {
    return { timestamp: (spec as Body).timestamp as number };
  }
  throw new InvalidArgumentError(
    `offset spec ${describe(spec)} is not one of "earliest", "latest" or { timestamp: <ms> }`,
  );
}

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v === null || typeof v !== "object") return `${typeof v} ${String(v)}`;
  return Array.isArray(v) ? "an array" : "a map";
}

const handlers = new Map<number, RequestHandler>([
  [
    ApiKey.CreateTopic,
    (s, b) => s.createTopic(str(b, "name"), createTopicOptions(b)).then(() => null),
  ],
  [ApiKey.DeleteTopic, (s, b) => s.deleteTopic(str(b, "name")).then(() => null)],
  [
    ApiKey.ListTopics,
    (s, b) => s.listTopics(field<boolean>(b, "includeInternal", isBool, "a boolean")),
  ],
  [ApiKey.DescribeTopic, (s, b) => s.describeTopic(str(b, "name"))],
  [ApiKey.PartitionCount, (s, b) => s.partitionCount(str(b, "topic"))],
  [
    ApiKey.InitProducerId,
    (s, b) =>
      b.transactionalId === undefined
        ? s.initProducerId()
        : s.initProducerId({
            transactionalId: str(b, "transactionalId"),
            transactionTimeoutMs: int(b, "transactionTimeoutMs"),
          }),
  ],
  [
    ApiKey.AddPartitionsToTxn,
    (s, b) => {
      const partitions = objects<Body>(arr(b, "partitions"), "partition");
      for (const p of partitions) {
        str(p, "topic");
        int(p, "partition");
      }
      return s
        .addPartitionsToTxn({ ...txnProducer(b), partitions: partitions as never })
        .then(() => null);
    },
  ],
  [
    ApiKey.TxnOffsetCommit,
    (s, b) => {
      const offsets = objects<Body>(arr(b, "offsets"), "offset");
      for (const o of offsets) {
        str(o, "topic");
        int(o, "partition");
        int(o, "offset");
      }
      return s
        .txnOffsetCommit({
          ...txnProducer(b),
          ...member(b),
          offsets: offsets as never,
          ...(b.groupInstanceId === undefined
            ? {}
            : { groupInstanceId: str(b, "groupInstanceId") }),
        })
        .then(() => null);
    },
  ],
  [
    ApiKey.EndTxn,
    (s, b) =>
      s
        .endTxn({
          ...txnProducer(b),
          commit: field<boolean>(b, "commit", isBool, "a boolean"),
        })
        .then(() => null),
  ],
  [
    ApiKey.ListOffsets,
    (s, b) =>
      s.listOffsets(
        str(b, "topic"),
        offsetSpec(b),
        b.isolation === undefined ? undefined : checkIsolation(b.isolation),
      ),
  ],
  [
    ApiKey.Produce,
    (s, b) => {
      const batch = field<Uint8Array>(b, "batch", isBuf, "binary");
      const buf = Buffer.isBuffer(batch)
        ? batch
        : Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength);
      return s.produce(str(b, "topic"), int(b, "partition"), buf);
    },
  ],
  [
    ApiKey.Fetch,
    (s, b) => {
      const requests = objects<Body>(arr(b, "requests"), "fetch request");
      for (const r of requests) {
        str(r, "topic");
        int(r, "partition");
        int(r, "offset");
        int(r, "maxBytes");
      }
      const o = obj(b, "options");
      return s.fetch(requests as never, {
        maxWaitMs: int(o, "maxWaitMs"),
        minBytes: int(o, "minBytes"),
        maxBytes: int(o, "maxBytes"),
        ...(o.isolation === undefined ? {} : { isolation: checkIsolation(o.isolation) }),
      });
    },
  ],
  [
    ApiKey.JoinGroup,
    (s, b) =>
      s.joinGroup({
        groupId: str(b, "groupId"),
        memberId: str(b, "memberId"),
        clientId: str(b, "clientId"),
        topics: field<string[]>(b, "topics", isStrArr, "an array of strings"),
        sessionTimeoutMs: int(b, "sessionTimeoutMs"),
        rebalanceTimeoutMs: int(b, "rebalanceTimeoutMs"),
        assignor: str(b, "assignor") as never,
        owned: objects(arr(b, "owned"), "owned partition"),
        ...(b.groupInstanceId === undefined ? {} : { groupInstanceId: str(b, "groupInstanceId") }),
      }),
  ],
  [ApiKey.Heartbeat, (s, b) => s.heartbeat(member(b))],
  [
    ApiKey.LeaveGroup,
    (s, b) =>
      s.leaveGroup({ groupId: str(b, "groupId"), memberId: str(b, "memberId") }).then(() => null),
  ],
  [
    ApiKey.CommitOffsets,
    (s, b) =>
      s
        .commitOffsets({ ...member(b), offsets: objects(arr(b, "offsets"), "offset") })
        .then(() => null),
  ],
  [
    ApiKey.FetchOffsets,
    (s, b) =>
      s.fetchOffsets(
        str(b, "groupId"),
        optStrArr(b, "topics"),
        field<boolean | undefined>(b, "requireStable", isBool, "a boolean", true),
      ),
  ],
  [ApiKey.ListGroups, (s) => s.listGroups()],
  [ApiKey.DescribeGroup, (s, b) => s.describeGroup(str(b, "groupId"))],
  [
    ApiKey.ResetOffsets,
    (s, b) => {
      const o = b.options === undefined ? {} : obj(b, "options");
      return s.resetOffsets(str(b, "groupId"), obj(b, "spec") as never, {
        topics: optStrArr(o, "topics"),
        dryRun: field<boolean | undefined>(o, "dryRun", isBool, "a boolean", true),
      });
    },
  ],
  [ApiKey.DeleteGroup, (s, b) => s.deleteGroup(str(b, "groupId")).then(() => null)],
]);

/** The handler for an api key; throws ProtocolError("UNKNOWN_REQUEST") for any other key. */
export function requestHandler(apiKey: number): RequestHandler {
  const h = handlers.get(apiKey);
  if (h === undefined) {
    throw new ProtocolError(
      "UNKNOWN_REQUEST",
      `unknown request type ${apiKey}: this broker speaks protocol version 1 (api keys 0..28); upgrade the broker or the client`,
    );
  }
  return h;
}

/** Body must be a map; anything else is a malformed frame. */
export function requestBody(value: unknown): Body {
  if (!isObj(value)) {
    throw new ProtocolError("MALFORMED_FRAME", "request body must be a msgpack map");
  }
  return value as Body;
}
