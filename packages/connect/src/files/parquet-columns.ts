import type { ColumnSource } from "hyparquet-writer";

/**
 * Rows (JSON objects) to Parquet columns: one column per field seen in any row, missing
 * fields are nulls. A column's type follows its values: all integers that fit → INT64,
 * numbers → DOUBLE, booleans → BOOLEAN, strings → STRING, anything else (objects,
 * arrays, mixed types) → its JSON text as JSON.
 */
export function toParquetColumns(rows: Record<string, unknown>[]): ColumnSource[] {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    for (const k of Object.keys(r)) {
      if (!seen.has(k)) {
        seen.add(k);
        names.push(k);
      }
    }
  }
  return names.map((name) => {
    const values = rows.map((r) => r[name] ?? null);
    const present = values.filter((v) => v !== null);
    if (
      present.length > 0 &&
      present.every((v) => typeof v === "number" && Number.isSafeInteger(v))
    ) {
      return {
        name,
        type: "INT64",
        data: values.map((v) => (v === null ? null : BigInt(v as number))),
      };
    }
    if (present.length > 0 && present.every((v) => typeof v === "number")) {
      return { name, type: "DOUBLE", data: values };
    }
    if (present.length > 0 && present.every((v) => typeof v === "boolean")) {
      return { name, type: "BOOLEAN", data: values };
    }
    if (present.every((v) => typeof v === "string")) return { name, type: "STRING", data: values };
    return { name, type: "JSON", data: values };
  });
}
