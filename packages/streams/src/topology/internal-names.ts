/**
 * Deterministic names. Generated names follow Kafka Streams
 * (`KSTREAM-AGGREGATE-0000000003`): a prefix and one counter shared by processors and
 * stores, so two builds of the same topology code name everything the same, and a
 * renamed node only moves the numbers after it. Internal topics are prefixed by the
 * application id so that two apps on one log never share one.
 */
export class NameGenerator {
  private index = 0;

  next(prefix: string): string {
    return `${prefix}${String(this.index++).padStart(10, "0")}`;
  }
}

export function repartitionTopicName(applicationId: string, base: string): string {
  return `${applicationId}-${base}-repartition`;
}

export function changelogTopicName(applicationId: string, store: string): string {
  return `${applicationId}-${store}-changelog`;
}

export function deadLetterTopicName(applicationId: string): string {
  return `${applicationId}-dlq`;
}

const LEGAL = /^[a-zA-Z0-9._-]+$/;

/** Names that become part of topic names obey Kafka's topic rules; null when fine. */
export function nameProblem(name: string): string | null {
  if (name.length === 0) return "is empty";
  if (!LEGAL.test(name)) return "may only hold ASCII letters, digits, '.', '_' and '-'";
  if (name.length > 200) return "is longer than 200 characters";
  return null;
}
