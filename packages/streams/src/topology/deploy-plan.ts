import type {
  DeployedRepartitionTopic,
  DeployedStore,
  DeployedTopology,
} from "./deployed-topology.js";

/**
 * How a change treats the running app's state:
 * - compatible: the new version runs on the state as it is;
 * - migration: the state stays where it is but means something else now (a store's value
 *   format or windowing changed): the store must be rebuilt from history;
 * - incompatible: state or in-flight records would be orphaned (a renamed store or
 *   repartition topic, a store of another kind or key format under the same name).
 */
export type ChangeVerdict = "compatible" | "migration" | "incompatible";

export interface PlannedChange {
  verdict: ChangeVerdict;
  /** "store counts", "repartition topic wc-words-repartition", "input topic clicks". */
  subject: string;
  what: string;
  /** What the user should do, when anything. */
  todo?: string;
}

export interface DeployPlan {
  applicationId: string;
  /** When the running version was deployed; null on a first deploy. */
  runningSince: number | null;
  changes: PlannedChange[];
  /** The worst verdict of the changes. */
  verdict: ChangeVerdict;
}

const RANK: Record<ChangeVerdict, number> = { compatible: 0, migration: 1, incompatible: 2 };

/**
 * Compares the topology a file compiles to (`next`) with the one recorded when the app was
 * last deployed (`running`, null if never) and classifies every difference in its state:
 * stores by name (kind, key and value formats, windowing, retention, place), repartition
 * topics, inputs and outputs. A store or repartition topic that disappears while another
 * of the same kind appears in its place is taken as renamed: the usual cause is a
 * generated name (`…-0000000003`) that moved because an operator was added before it,
 * which Kafka Streams users meet as orphaned state after a deploy.
 */
export function planDeploy(running: DeployedTopology | null, next: DeployedTopology): DeployPlan {
  const changes: PlannedChange[] = [];
  if (running !== null) {
    if (running.description !== next.description) {
      changes.push({
        verdict: "compatible",
        subject: "the processors",
        what: "change (tributary describe shows the new shape); what that does to state is listed below, if anything",
      });
    }
    changes.push(...storeChanges(running, next));
    changes.push(
      ...repartitionChanges(next.applicationId, running.repartitionTopics, next.repartitionTopics),
    );
    changes.push(...topicChanges(running, next));
  }
  const verdict = changes.reduce<ChangeVerdict>(
    (worst, c) => (RANK[c.verdict] > RANK[worst] ? c.verdict : worst),
    "compatible",
  );
  return {
    applicationId: next.applicationId,
    runningSince: running?.deployedAt ?? null,
    changes,
    verdict,
  };
}

function storeChanges(running: DeployedTopology, next: DeployedTopology): PlannedChange[] {
  const out: PlannedChange[] = [];
  const before = new Map(running.stores.map((s) => [s.name, s]));
  const after = new Map(next.stores.map((s) => [s.name, s]));
  const added = next.stores.filter((s) => !before.has(s.name));
  const app = next.applicationId;
  for (const old of running.stores) {
    const now = after.get(old.name);
    if (now !== undefined) {
      out.push(...sameStoreChanges(app, old, now));
      continue;
    }
    // In its place: the same kind of store, fed from the same topics or in the same
    // sub-topology (a renamed repartition topic renames the inputs too).
    const i = added.findIndex(
      (s) =>
        s.type === old.type &&
        (s.inputs.join() === old.inputs.join() || s.subtopology === old.subtopology),
    );
    if (i < 0) {
      out.push({
        verdict: "compatible",
        subject: `store ${old.name}`,
        what: `is no longer used${old.changelogTopic === null ? "" : `; its changelog ${old.changelogTopic} stays behind`}`,
        ...(old.changelogTopic === null
          ? {}
          : { todo: `once sure, delete it: tributary topics delete ${old.changelogTopic}` }),
      });
      continue;
    }
    const renamed = added.splice(i, 1)[0]!;
    out.push({
      verdict: "incompatible",
      subject: `store ${old.name}`,
      what: `is renamed ${renamed.name}: the state of ${old.name}${old.changelogTopic === null ? "" : ` and its changelog ${old.changelogTopic}`} would be orphaned, and ${renamed.name} would start empty`,
      todo:
        old.generatedName || renamed.generatedName
          ? `the name is generated from the operator's position, and an operator added before it moved it: name the store (e.g. { storeName: "${old.name}" }) to keep its state`
          : `keep the name ${old.name}, or rebuild ${renamed.name} from history: stop the app, tributary reset ${app} --to-earliest, run with --allow-incompatible`,
    });
  }
  for (const s of added) {
    out.push({
      verdict: "compatible",
      subject: `store ${s.name}`,
      what: "is new: it starts empty and fills from the input read from the app's committed offsets on",
      todo: `to fill it from history instead, stop the app and tributary reset ${app} --to-earliest before running`,
    });
  }
  return out;
}

function sameStoreChanges(app: string, old: DeployedStore, now: DeployedStore): PlannedChange[] {
  const subject = `store ${old.name}`;
  const rebuild = `rebuild it from history: stop the app, tributary reset ${app} --to-earliest, run with --allow-incompatible`;
  if (old.type !== now.type) {
    return [
      {
        verdict: "incompatible",
        subject,
        what: `changes from a ${old.type} store to a ${now.type} store: its state${old.changelogTopic === null ? "" : ` and changelog ${old.changelogTopic}`} cannot be read as the new kind`,
        todo: `give the new store another name (and fill it with a reset), or keep the ${old.type} store`,
      },
    ];
  }
  if (old.keySerde !== now.keySerde) {
    return [
      {
        verdict: "incompatible",
        subject,
        what: `keys change format from ${old.keySerde} to ${now.keySerde}: no stored key would be found again, and keys may land in other partitions`,
        todo: `keep the ${old.keySerde} key serde, or name a new store and ${rebuild.replace("rebuild it", "fill it")}`,
      },
    ];
  }
  const out: PlannedChange[] = [];
  if (old.valueSerde !== now.valueSerde) {
    out.push({
      verdict: "migration",
      subject,
      what: `values change format from ${old.valueSerde} to ${now.valueSerde}: every value already stored would fail to decode`,
      todo: `${rebuild}; or keep the ${old.valueSerde} value serde`,
    });
  }
  if (old.windowing !== now.windowing) {
    out.push({
      verdict: "migration",
      subject,
      what: `windowing changes from ${old.windowing ?? "none"} to ${now.windowing ?? "none"}: the stored windows keep their old bounds`,
      todo: rebuild,
    });
  }
  const lost = old.inputs.filter((t) => !now.inputs.includes(t));
  if (lost.length > 0) {
    out.push({
      verdict: "migration",
      subject,
      what: `was built from ${old.inputs.join(", ")} and is now fed from ${now.inputs.join(", ")}: what it holds from ${lost.join(", ")} stays`,
      todo: rebuild,
    });
  }
  if (old.retentionMs !== now.retentionMs) {
    out.push({
      verdict: "compatible",
      subject,
      what: `retention changes from ${old.retentionMs}ms to ${now.retentionMs}ms: it applies from the next write on`,
    });
  }
  if (old.subtopology !== now.subtopology) {
    out.push(
      now.changelogTopic === null
        ? {
            verdict: "migration",
            subject,
            what: `moves from sub-topology ${old.subtopology} to ${now.subtopology} and has no changelog: its tasks' local state would not be found`,
            todo: rebuild,
          }
        : {
            verdict: "compatible",
            subject,
            what: `moves from sub-topology ${old.subtopology} to ${now.subtopology}: its new tasks restore it from ${now.changelogTopic}`,
          },
    );
  }
  return out;
}

function repartitionChanges(
  app: string,
  running: DeployedRepartitionTopic[],
  next: DeployedRepartitionTopic[],
): PlannedChange[] {
  const out: PlannedChange[] = [];
  const names = new Set(next.map((t) => t.name));
  const added = next.filter((t) => !running.some((r) => r.name === t.name));
  for (const old of running) {
    if (names.has(old.name)) continue;
    const renamed = added.shift();
    if (renamed === undefined) {
      out.push({
        verdict: "compatible",
        subject: `repartition topic ${old.name}`,
        what: "is no longer used: records still in it will not be read",
        todo: `once it is drained (tributary groups describe), delete it: tributary topics delete ${old.name}`,
      });
      continue;
    }
    out.push({
      verdict: "incompatible",
      subject: `repartition topic ${old.name}`,
      what: `is replaced by ${renamed.name}: records written to ${old.name} and not yet read would be orphaned`,
      todo:
        old.generatedName || renamed.generatedName
          ? `the name is generated from the operator's position, and an operator added before it moved it: give the groupBy or repartition the old name ({ name: "${old.name.slice(app.length + 1).replace(/-repartition$/, "")}" }) to keep it`
          : `keep the name, or stop the app once ${old.name} is drained and run with --allow-incompatible`,
    });
  }
  for (const t of added) {
    out.push({
      verdict: "compatible",
      subject: `repartition topic ${t.name}`,
      what: "is new: it is created at start",
    });
  }
  return out;
}

function topicChanges(running: DeployedTopology, next: DeployedTopology): PlannedChange[] {
  const out: PlannedChange[] = [];
  for (const t of next.sources.filter((x) => !running.sources.includes(x))) {
    out.push({
      verdict: "compatible",
      subject: `input topic ${t}`,
      what: "is new: the app has no offset for it, so it starts where its offset reset policy says",
    });
  }
  for (const t of running.sources.filter((x) => !next.sources.includes(x))) {
    out.push({
      verdict: "compatible",
      subject: `input topic ${t}`,
      what: "is no longer read",
    });
  }
  for (const t of next.sinks.filter((x) => !running.sinks.includes(x))) {
    out.push({ verdict: "compatible", subject: `output topic ${t}`, what: "is new" });
  }
  for (const t of running.sinks.filter((x) => !next.sinks.includes(x))) {
    out.push({
      verdict: "compatible",
      subject: `output topic ${t}`,
      what: "is no longer written: its readers get nothing new",
    });
  }
  return out;
}

/** The plan as `tributary plan` prints it: one block per change, then the verdict. */
export function formatPlan(plan: DeployPlan): string {
  const lines: string[] = [];
  if (plan.runningSince === null) {
    lines.push(`app ${plan.applicationId}: first deploy (no running topology recorded)`);
  } else {
    lines.push(
      `app ${plan.applicationId}: compared with the topology deployed at ${new Date(plan.runningSince).toISOString()}`,
    );
    if (plan.changes.length === 0) lines.push("  no changes");
  }
  for (const c of plan.changes) {
    lines.push(`  ${c.verdict.padEnd(12)} ${c.subject} ${c.what}`);
    if (c.todo !== undefined) lines.push(`  ${"".padEnd(12)} to do: ${c.todo}`);
  }
  lines.push(
    plan.verdict === "compatible"
      ? "verdict: compatible, tributary run deploys it"
      : `verdict: ${plan.verdict === "migration" ? "needs a state migration" : "incompatible"}, tributary run refuses it unless given --allow-incompatible`,
  );
  return `${lines.join("\n")}\n`;
}
