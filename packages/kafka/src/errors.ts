import {
  GroupError,
  InvalidArgumentError,
  InvalidConfigError,
  InvalidNameError,
  ProtocolError,
  RecordTooLargeError,
  TopicExistsError,
  TributaryError,
  UnknownTopicError,
} from "@tributary/log";

/**
 * Turns what the Kafka client throws into the TributaryError classes of @tributary/log, so
 * code written against LogClient branches on the same `code` whichever log it runs on.
 *
 * @platformatic/kafka reports a broker's error as a ProtocolError carrying Kafka's error
 * name in `apiId` (e.g. "TOPIC_ALREADY_EXISTS"), often inside a MultipleErrors/ResponseError
 * that `findBy` searches; its own checks are UserErrors with a message. `what` names the
 * operation and its subject ("create topic 'orders'") for the message.
 */
export function fromKafkaError(err: unknown, what: string, topic?: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const e = err as KafkaClientError;
  const id = kafkaErrorId(e);
  const server = describeKafkaError(e);
  switch (id) {
    case "TOPIC_ALREADY_EXISTS":
      return new TopicExistsError(topic ?? what);
    case "UNKNOWN_TOPIC_OR_PARTITION":
    case "UNKNOWN_TOPIC_ID":
      return new UnknownTopicError(topic ?? what);
    case "INVALID_TOPIC_EXCEPTION":
      return new InvalidNameError(
        "INVALID_TOPIC_NAME",
        `${what}: Kafka refused the name (${server})`,
      );
    case "INVALID_CONFIG":
    case "INVALID_REPLICATION_FACTOR":
      return new InvalidConfigError(`${what}: Kafka refused the configuration (${server})`);
    case "INVALID_PARTITIONS":
      return new InvalidArgumentError(`${what}: invalid number of partitions (${server})`);
    case "NON_EMPTY_GROUP":
      return new GroupError(
        "GROUP_NOT_EMPTY",
        `${what}: the group still has members; stop its consumers first`,
      );
    case "ILLEGAL_GENERATION":
      return new GroupError(
        "ILLEGAL_GENERATION",
        `${what}: the group moved to a newer generation; rejoin (poll) before committing`,
      );
    case "UNKNOWN_MEMBER_ID":
      return new GroupError(
        "UNKNOWN_MEMBER",
        `${what}: the group does not know this member (session expired?); rejoin (poll)`,
      );
    case "FENCED_INSTANCE_ID":
      return new GroupError(
        "FENCED_INSTANCE_ID",
        `${what}: a newer process joined with this member's group instance id and replaced it; stop this one (two processes must never share an instance id)`,
      );
    case "REBALANCE_IN_PROGRESS":
      return new GroupError(
        "REBALANCE_IN_PROGRESS",
        `${what}: the group is rebalancing; poll and retry`,
      );
    case "INVALID_GROUP_ID":
      return new InvalidNameError(
        "INVALID_GROUP_NAME",
        `${what}: Kafka refused the group id (${server})`,
      );
    case "MESSAGE_TOO_LARGE":
    case "RECORD_LIST_TOO_LARGE":
      return new RecordTooLargeError(
        `${what}: ${server}; raise the topic's max.message.bytes or send less`,
      );
    case "INVALID_SESSION_TIMEOUT":
      return new InvalidConfigError(
        `${what}: the session timeout is outside the broker's group.min/max.session.timeout.ms (${server})`,
      );
    default:
      break;
  }
  if (typeof e?.message === "string" && /^Unknown topic/i.test(e.message)) {
    return new UnknownTopicError(topic ?? what);
  }
  const login = findKafkaError(
    e,
    (x) => x.apiId === "SASL_AUTHENTICATION_FAILED" || x.apiId === "UNSUPPORTED_SASL_MECHANISM",
  );
  if (login?.apiId === "UNSUPPORTED_SASL_MECHANISM") {
    return new ProtocolError(
      "AUTHENTICATION_FAILED",
      `${what}: the Kafka listener does not enable this SASL mechanism (${describeKafkaError(login)}); set TRIBUTARY_SASL_MECHANISM to one it does`,
      { cause: err },
    );
  }
  if (login !== undefined || findKafkaError(e, (x) => x.code === "PLT_KFK_AUTHENTICATION")) {
    return new ProtocolError(
      "AUTHENTICATION_FAILED",
      `${what}: Kafka refused the login (${describeKafkaError(login ?? e)}); check the user, password and mechanism (TRIBUTARY_USER, TRIBUTARY_PASSWORD or TRIBUTARY_PASSWORD_FILE, TRIBUTARY_SASL_MECHANISM)`,
      { cause: err },
    );
  }
  // Node's TLS errors: ERR_TLS_*, and OpenSSL's certificate checks (UNABLE_TO_VERIFY_…,
  // SELF_SIGNED_CERT_IN_CHAIN, CERT_HAS_EXPIRED, DEPTH_ZERO_SELF_SIGNED_CERT, …).
  const tls = findKafkaError(e, (x) => /^ERR_TLS_|CERT|UNABLE_TO_/.test(x.code ?? ""));
  if (tls !== undefined) {
    return new ProtocolError(
      "CONNECTION",
      `${what}: the TLS handshake failed (${tls.message}); check TRIBUTARY_TLS_CA (the CA that signed the brokers' certificates) and TRIBUTARY_TLS_SERVERNAME`,
      { cause: err },
    );
  }
  const code = findKafkaError(
    e,
    (x) => x.code === "PLT_KFK_NETWORK" || x.code === "PLT_KFK_TIMEOUT",
  )?.code;
  if (code === "PLT_KFK_NETWORK") {
    return new ProtocolError("CONNECTION", `${what}: cannot reach the Kafka cluster (${server})`, {
      cause: err,
      retriable: true,
    });
  }
  if (code === "PLT_KFK_TIMEOUT") {
    return new ProtocolError("TIMEOUT", `${what}: Kafka did not answer in time (${server})`, {
      cause: err,
      retriable: true,
    });
  }
  return new TributaryError("INTERNAL", `${what} failed on Kafka: ${server}`, {
    cause: err,
    retriable: e?.canRetry === true,
  });
}

/** The shape of @platformatic/kafka's errors, as far as this module reads it. */
interface KafkaClientError {
  code?: string;
  message?: string;
  apiId?: string;
  canRetry?: boolean;
  serverErrorMessage?: string | null;
  errors?: unknown[];
  cause?: unknown;
  findBy?(property: string, value: unknown): KafkaClientError | null;
}

/** Kafka's error name ("NOT_COORDINATOR") of the first broker error inside `err`. */
export function kafkaErrorId(err: unknown): string | undefined {
  const e = err as KafkaClientError | undefined;
  if (e === undefined || e === null) return undefined;
  if (typeof e.apiId === "string") return e.apiId;
  for (const inner of e.errors ?? []) {
    const id = kafkaErrorId(inner);
    if (id !== undefined) return id;
  }
  return undefined;
}

/** The first error in `err`, its `errors` and its `cause` chain that `match` accepts. */
function findKafkaError(
  err: KafkaClientError | undefined,
  match: (e: KafkaClientError) => boolean,
  depth = 0,
): KafkaClientError | undefined {
  if (err === undefined || err === null || typeof err !== "object" || depth > 10) return undefined;
  if (match(err)) return err;
  for (const inner of [...(err.errors ?? []), err.cause]) {
    const found = findKafkaError(inner as KafkaClientError, match, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function describeKafkaError(e: KafkaClientError | undefined): string {
  if (e === undefined || e === null) return "unknown error";
  // The client's errors wrap the reason in `cause` (a NetworkError around Node's TLS error).
  const nested = e.errors ?? (e.cause instanceof Error ? [e.cause] : []);
  // Retries fail alike: "[Connection closed]" once, not once per attempt.
  const inner = [...new Set(nested.map((x) => describeKafkaError(x as KafkaClientError)))];
  const own = e.apiId
    ? `${e.apiId}${e.serverErrorMessage ? `: ${e.serverErrorMessage}` : ""}`
    : (e.message ?? String(e));
  return inner.length > 0 ? `${own} [${inner.join("; ")}]` : own;
}
