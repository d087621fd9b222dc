import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { validateTopicName } from "@tributary/log";
import { tsImport } from "tsx/esm/api";
import { validateConfig } from "./config-def.js";
import type { Connector } from "./connector.js";
import { BUILT_IN_CONNECTORS } from "./built-in-connectors.js";
import { ConnectConfigError, ConnectError } from "./errors.js";

/**
 * What `tributary connect run FILE` reads: JSON, or a TS/JS module whose default export is
 * the same object (there `type` may be a connector object instead of a built-in's name):
 *
 *   { "connectors": [
 *       { "name": "shop-cdc", "type": "postgres-source", "config": { ... } },
 *       { "name": "replica", "type": "postgres-sink", "tasksMax": 2,
 *         "topics": ["shop.public.customers"],
 *         "errors": { "tolerance": "all", "deadLetterTopic": "replica-dlq" },
 *         "config": { ... } } ] }
 */
export interface ConnectorEntry {
  name: string;
  type: string | Connector;
  tasksMax?: number;
  /** Sinks: the topics to read. */
  topics?: string[];
  errors?: { tolerance?: "none" | "all"; deadLetterTopic?: string };
  config: Record<string, unknown>;
}

export interface ConnectFile {
  connectors: ConnectorEntry[];
}

export interface TaskPlan {
  /** `<connector>-<n>`, unique in the file. */
  id: string;
  index: number;
  config: Record<string, unknown>;
}

/** One connector of the file, checked and split into tasks. */
export interface ConnectorPlan {
  name: string;
  connector: Connector;
  tasks: TaskPlan[];
  topics: string[];
  tolerance: "none" | "all";
  deadLetterTopic?: string;
}

export function defineConnect(file: ConnectFile): ConnectFile {
  return file;
}

/** Loads and checks a connect file; every mistake is one error naming the field. */
export async function loadConnectFile(file: string): Promise<ConnectorPlan[]> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) {
    throw new ConnectError("CONNECT_FILE", `connect file ${file} does not exist`);
  }
  let raw: unknown;
  try {
    if (abs.endsWith(".json")) raw = JSON.parse(fs.readFileSync(abs, "utf8"));
    else {
      const mod = (await tsImport(pathToFileURL(abs).href, {
        parentURL: import.meta.url,
        tsconfig: false,
      })) as { default?: { default?: unknown } };
      raw =
        mod.default !== null && typeof mod.default === "object" && "connectors" in mod.default
          ? mod.default
          : mod.default?.default;
    }
  } catch (err) {
    throw new ConnectError("CONNECT_FILE", `cannot load ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return planConnectors(raw);
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$/;

export function planConnectors(raw: unknown): ConnectorPlan[] {
  if (raw === null || typeof raw !== "object" || !Array.isArray((raw as ConnectFile).connectors)) {
    throw new ConnectConfigError("connectors", "expected { connectors: [ ... ] } at the top");
  }
  const entries = (raw as ConnectFile).connectors;
  if (entries.length === 0) throw new ConnectConfigError("connectors", "is empty: add a connector");
  const names = new Set<string>();
  return entries.map((entry, i) => {
    const where = `connectors[${i}]`;
    if (entry === null || typeof entry !== "object") {
      throw new ConnectConfigError(where, "expected an object with name, type and config");
    }
    if (typeof entry.name !== "string" || !NAME.test(entry.name)) {
      throw new ConnectConfigError(
        `${where}.name`,
        `${JSON.stringify(entry.name)}: expected 1-100 characters of [a-zA-Z0-9._-]`,
      );
    }
    if (names.has(entry.name)) {
      throw new ConnectConfigError(`${where}.name`, `"${entry.name}" is used twice`);
    }
    names.add(entry.name);
    const connector = resolveType(entry.type, `${where}.type`);
    const config = validateConfig(connector.config, entry.config ?? {}, `${where}.config`);
    const tasksMax = entry.tasksMax ?? 1;
    if (!Number.isSafeInteger(tasksMax) || tasksMax < 1 || tasksMax > 256) {
      throw new ConnectConfigError(`${where}.tasksMax`, `${tasksMax}: expected 1 to 256`);
    }
    const tolerance = entry.errors?.tolerance ?? "none";
    if (tolerance !== "none" && tolerance !== "all") {
      throw new ConnectConfigError(`${where}.errors.tolerance`, `expected "none" or "all"`);
    }
    const deadLetterTopic = entry.errors?.deadLetterTopic;
    if (deadLetterTopic !== undefined) {
      checkTopic(deadLetterTopic, `${where}.errors.deadLetterTopic`);
    }
    let topics: string[] = [];
    if (connector.kind === "sink") {
      if (!Array.isArray(entry.topics) || entry.topics.length === 0) {
        throw new ConnectConfigError(`${where}.topics`, "a sink needs the list of topics it reads");
      }
      for (const [j, t] of entry.topics.entries()) checkTopic(t, `${where}.topics[${j}]`);
      topics = entry.topics;
    } else if (entry.topics !== undefined || entry.errors !== undefined) {
      throw new ConnectConfigError(
        `${where}.${entry.topics !== undefined ? "topics" : "errors"}`,
        "only sinks take this; a source names its topics in its config",
      );
    }
    const taskConfigs =
      connector.kind === "source"
        ? connector.taskConfigs(config, tasksMax)
        : Array.from({ length: tasksMax }, () => config as Record<string, unknown>);
    return {
      name: entry.name,
      connector,
      topics,
      tolerance,
      ...(deadLetterTopic === undefined ? {} : { deadLetterTopic }),
      tasks: taskConfigs.map((c, index) => ({ id: `${entry.name}-${index}`, index, config: c })),
    };
  });
}

function resolveType(type: unknown, field: string): Connector {
  if (typeof type === "string") {
    const c = BUILT_IN_CONNECTORS[type];
    if (c === undefined) {
      throw new ConnectConfigError(
        field,
        `unknown connector type "${type}"; built in: ${Object.keys(BUILT_IN_CONNECTORS).join(", ")}`,
      );
    }
    return c;
  }
  if (
    type !== null &&
    typeof type === "object" &&
    ((type as Connector).kind === "source" || (type as Connector).kind === "sink") &&
    typeof (type as Connector).createTask === "function"
  ) {
    return type as Connector;
  }
  throw new ConnectConfigError(
    field,
    "expected a built-in type name or a connector made with defineSourceConnector/defineSinkConnector",
  );
}

function checkTopic(name: unknown, field: string): void {
  try {
    validateTopicName(name as string);
  } catch (err) {
    throw new ConnectConfigError(field, (err as Error).message);
  }
}

/** Which tasks worker `index` of `workers` runs: every task in turn, round robin. */
export function tasksForWorker(
  plans: ConnectorPlan[],
  index: number,
  workers: number,
): { plan: ConnectorPlan; task: TaskPlan }[] {
  const all = plans.flatMap((plan) => plan.tasks.map((task) => ({ plan, task })));
  return all.filter((_, i) => i % workers === index);
}
