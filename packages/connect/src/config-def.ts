import { ConnectConfigError } from "./errors.js";

/**
 * A connector's config, declared field by field so it is checked before any task starts
 * (Kafka Connect's ConfigDef): a wrong config names the field, what it got and what it
 * expects, instead of failing later inside a task.
 */
export type FieldSpec =
  | { type: "string"; required?: boolean; default?: string; doc: string }
  | { type: "int"; required?: boolean; default?: number; min?: number; max?: number; doc: string }
  | { type: "boolean"; default?: boolean; doc: string }
  | { type: "list"; required?: boolean; default?: string[]; doc: string }
  | { type: "enum"; values: readonly string[]; default?: string; doc: string }
  | { type: "map"; default?: Record<string, string>; doc: string };

export type ConfigDef = Record<string, FieldSpec>;

type ValueOf<F extends FieldSpec> = F extends { type: "string" }
  ? string
  : F extends { type: "int" }
    ? number
    : F extends { type: "boolean" }
      ? boolean
      : F extends { type: "list" }
        ? string[]
        : F extends { type: "enum" }
          ? F["values"][number]
          : Record<string, string>;

/** The checked config: required fields and fields with a default are always present. */
export type ConfigOf<D extends ConfigDef> = {
  [K in keyof D as D[K] extends { required: true } | { default: unknown } ? K : never]: ValueOf<
    D[K]
  >;
} & {
  [K in keyof D as D[K] extends { required: true } | { default: unknown } ? never : K]?: ValueOf<
    D[K]
  >;
};

/**
 * Checks `raw` against `def`. `where` is the path of the config object in the file, so an
 * error reads `connectors[0].config.slotName: expected a string`. Unknown fields are
 * refused (a typo would otherwise be a silent default).
 */
export function validateConfig<D extends ConfigDef>(
  def: D,
  raw: unknown,
  where: string,
): ConfigOf<D> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConnectConfigError(where, "expected an object of settings");
  }
  const input = raw as Record<string, unknown>;
  for (const name of Object.keys(input)) {
    if (!(name in def)) {
      throw new ConnectConfigError(
        `${where}.${name}`,
        `unknown setting; known: ${Object.keys(def).join(", ")}`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(def)) {
    const field = `${where}.${name}`;
    const value = input[name];
    if (value === undefined) {
      if ("required" in spec && spec.required) {
        throw new ConnectConfigError(field, `missing; it is required (${spec.doc})`);
      }
      if (spec.default !== undefined) out[name] = spec.default;
      continue;
    }
    out[name] = checkField(spec, value, field);
  }
  return out as ConfigOf<D>;
}

function checkField(spec: FieldSpec, value: unknown, field: string): unknown {
  switch (spec.type) {
    case "string":
      if (typeof value !== "string" || value.length === 0) {
        throw new ConnectConfigError(field, `expected a non-empty string (${spec.doc})`);
      }
      return value;
    case "int": {
      const min = spec.min ?? Number.MIN_SAFE_INTEGER;
      const max = spec.max ?? Number.MAX_SAFE_INTEGER;
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
        throw new ConnectConfigError(
          field,
          `${JSON.stringify(value)}: expected an integer from ${min} to ${max} (${spec.doc})`,
        );
      }
      return value;
    }
    case "boolean":
      if (typeof value !== "boolean") {
        throw new ConnectConfigError(field, `${JSON.stringify(value)}: expected true or false`);
      }
      return value;
    case "list":
      if (
        !Array.isArray(value) ||
        value.length === 0 ||
        value.some((v) => typeof v !== "string" || v.length === 0)
      ) {
        throw new ConnectConfigError(field, `expected a non-empty list of strings (${spec.doc})`);
      }
      return value;
    case "enum":
      if (typeof value !== "string" || !spec.values.includes(value)) {
        throw new ConnectConfigError(
          field,
          `${JSON.stringify(value)}: expected one of ${spec.values.join(", ")}`,
        );
      }
      return value;
    case "map":
      if (
        value === null ||
        typeof value !== "object" ||
        Array.isArray(value) ||
        Object.values(value).some((v) => typeof v !== "string")
      ) {
        throw new ConnectConfigError(field, `expected an object of strings (${spec.doc})`);
      }
      return value;
  }
}
